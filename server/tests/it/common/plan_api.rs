//! One plan over the REST API, as the tests drive it.
use super::TestApp;
use crate::common::Fetch;

/// One plan over the REST API, driven by whichever signed-in client (or
/// token) each call names.
pub struct PlanApi<'a> {
    pub app: &'a TestApp,
    pub id: String,
}

impl<'a> PlanApi<'a> {
    /// Imports `source` as `who` over the API; the import must succeed.
    pub async fn import(app: &'a TestApp, who: &reqwest::Client, source: &str) -> PlanApi<'a> {
        let res = who
            .post(app.url("/api/v1/plans"))
            .body(source.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let id = res.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        PlanApi { app, id }
    }

    pub async fn view(&self, who: &reqwest::Client) -> serde_json::Value {
        let res = who
            .get(self.app.url(&format!("/api/v1/plans/{}", self.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// PUTs `source` from the plan's current revision, as `who` (a session,
    /// or a bearer token when `token` is given).
    pub async fn edit(
        &self,
        who: &reqwest::Client,
        token: Option<&str>,
        source: &str,
    ) -> (u16, serde_json::Value) {
        let mut get = who.get(self.app.url(&format!("/api/v1/plans/{}", self.id)));
        if let Some(t) = token {
            get = get.bearer_auth(t);
        }
        let view: serde_json::Value = get.body_json().await;
        let revision = view["summary"]["revision"].as_i64().unwrap();
        let mut req = who
            .put(self.app.url(&format!(
                "/api/v1/plans/{}/source?revision={revision}",
                self.id
            )))
            .body(source.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.answer().await
    }

    /// Asks for a run of `job` (`body`: mode, environment, …).
    pub async fn start_run(
        &self,
        who: &reqwest::Client,
        job: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        who.post(
            self.app
                .url(&format!("/api/v1/plans/{}/jobs/{job}/runs", self.id)),
        )
        .json(&body)
        .answer()
        .await
    }

    /// Starts a run that must be accepted; its id.
    pub async fn started(
        &self,
        who: &reqwest::Client,
        job: &str,
        body: serde_json::Value,
    ) -> String {
        let (status, run) = self.start_run(who, job, body).await;
        assert_eq!(status, 202, "{run}");
        run["id"].as_str().unwrap().to_string()
    }

    /// Starts a live run of `job` in dev that must be accepted; its id.
    pub async fn started_in_dev(&self, who: &reqwest::Client, job: &str) -> String {
        self.started(
            who,
            job,
            serde_json::json!({ "mode": "run", "environment": "dev" }),
        )
        .await
    }

    /// Starts a run that must be accepted and waits until it is done.
    pub async fn run_to_end(
        &self,
        who: &reqwest::Client,
        job: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let id = self.started(who, job, body).await;
        let run = self.settled(who, &id, 30).await;
        assert_eq!(run["status"], "done", "{run}");
        run
    }

    /// Run `id` of this plan, as `who` sees it in the plan's list of runs.
    pub async fn run(&self, who: &reqwest::Client, id: &str) -> serde_json::Value {
        let runs: serde_json::Value = who
            .get(self.app.url(&format!("/api/v1/plans/{}/runs", self.id)))
            .body_json()
            .await;
        runs.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    }

    /// Waits (at most `secs`) until run `id` is no longer running; returns it.
    pub async fn settled(&self, who: &reqwest::Client, id: &str, secs: u64) -> serde_json::Value {
        self.run_until(who, id, secs, |run| run["status"] != "running")
            .await
    }

    /// Waits (at most `secs`) until run `id` is as `wanted` says; returns it.
    pub async fn run_until(
        &self,
        who: &reqwest::Client,
        id: &str,
        secs: u64,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let started = std::time::Instant::now();
        loop {
            let run = self.run(who, id).await;
            if wanted(&run) {
                return run;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(secs),
                "run {id} not as wanted after {secs} s: {run}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn phase(&self, who: &reqwest::Client, i: usize) -> serde_json::Value {
        self.view(who).await["phases"][i].clone()
    }

    /// `command` ("start_phase", "request_approval") on the phase `phase_id`.
    pub async fn on_phase(
        &self,
        who: &reqwest::Client,
        command: &str,
        phase_id: impl serde::Serialize,
    ) -> (u16, serde_json::Value) {
        let cmd = serde_json::json!({ "command": command, "phase_id": phase_id });
        self.command(who, cmd).await
    }

    pub async fn command(
        &self,
        who: &reqwest::Client,
        cmd: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        who.post(self.app.url(&format!("/api/v1/plans/{}/commands", self.id)))
            .json(&cmd)
            .answer()
            .await
    }

    /// An edit by `author` that must wait as a change request, approved by
    /// each of `approvers`; the change request's id.
    pub async fn edit_approved(
        &self,
        author: &reqwest::Client,
        source: &str,
        approvers: &[&reqwest::Client],
    ) -> String {
        let (status, body) = self.edit(author, None, source).await;
        assert_eq!(status, 202, "the edit must wait for approvals: {body}");
        let change = body["pending_change"].as_str().unwrap().to_string();
        for who in approvers {
            let (status, body) = self.decide_change(who, &change, "approve", "ok").await;
            assert_eq!(status, 200, "{body}");
        }
        change
    }

    /// Decides change request `change` as `who` (`verdict`: approve or reject).
    pub async fn decide_change(
        &self,
        who: &reqwest::Client,
        change: &str,
        verdict: &str,
        comment: &str,
    ) -> (u16, serde_json::Value) {
        self.command(
            who,
            serde_json::json!({"command": "decide_change", "change_id": change, "verdict": verdict, "comment": comment}),
        )
        .await
    }

    /// Waits (up to 30 s: the suite shares two cores) until the first
    /// phase's item for `check` says `met` with a detail that contains
    /// `says`; returns the detail.
    pub async fn item_until(
        &self,
        who: &reqwest::Client,
        check: &str,
        met: bool,
        says: &str,
    ) -> String {
        let mut last = serde_json::Value::Null;
        for _ in 0..300 {
            let phase = self.phase(who, 0).await;
            let item = phase["checklist"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["check"] == check)
                .unwrap()
                .clone();
            let detail = item["detail"].as_str().unwrap_or_default().to_string();
            if item["met"] == met && detail.contains(says) {
                return detail;
            }
            last = item;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{check} never became met={met} saying {says:?}; last: {last}");
    }
}
