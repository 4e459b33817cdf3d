//! `rollout-console demo history`: a lived-in console for a new user. On a
//! store with no plan yet, it seeds the demo target and plays a week of the
//! STI rollout through the same ports the browser and the REST API use (so
//! the audit chain verifies): dev and staging approved by different people,
//! dry-runs that found the seeds' broken rows and a clean one after the
//! data fix, live backfills and their verification, a single-organisation
//! rollback; staging soaked, production 5 %'s entry items ticked and its
//! dry-runs clean, so its start is the newcomer's to make. The
//! partitioned-tables plan has dev and staging approved (parity verified)
//! and, once its staging guardrails read healthy, its pilot running on the
//! organisations its query picks. Time is set back for the
//! story (`system::backdate`). With the demo's Prometheus configured
//! (`[prometheus.app]`, as `scripts/run` does), the story's last two hours
//! are the guardrails read every 30 s, as the evaluator reads them, from the
//! metrics of those times, so the console starts with their readings and
//! lines; the story ends when it is served.
use std::time::Duration;

use app::access::{Principal, Role};
use app::dto::backfill::{RunMode, RunStatus, StartRun};
use app::dto::plans::{NewPlan, PhaseView, PlanCommand, PlanView, RollbackKind, Verdict};
use app::service::{Caller, Services};

use super::CliError;
use crate::config::Config;
use crate::db::Store;

/// How long ago the story starts: its steps take 100 hours, then two hours
/// pass while the guardrails read the demo's metrics, so it ends now.
const STORY_HOURS: i64 = 102;
const HOUR_MS: i64 = 3_600_000;
/// The story's last hours, the guardrails read every 30 s (far more than
/// the templates' longest `for` window, 10 min): the timeline's lines.
const READ_MINUTES: i64 = 120;

/// The people of the story: (username, roles).
const PEOPLE: [(&str, &[Role]); 4] = [
    ("olga", &[Role::Operator]),
    ("ann", &[Role::Approver]),
    ("bob", &[Role::Approver]),
    ("vera", &[Role::Viewer]),
];

pub async fn run(store: Store, config: &Config, rows: i64) -> Result<(), CliError> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(crate::db::StoreError::from)?;
    let plans = crate::plans::store::list(&mut conn).await?.len();
    drop(conn);
    if plans > 0 {
        return Err(CliError::Invalid(format!(
            "the store at {} already holds {plans} plan(s): the demo history is made only on a new \
             store (remove data/console.db, or point DATABASE_URL at an empty database)",
            store.location()
        )));
    }
    let target = crate::backfill::target::connect(&config.targets, "demo").await?;
    crate::backfill::demo::seed(&target.pool, target.backend(), rows).await?;
    crate::system::backdate(STORY_HOURS * HOUR_MS);
    let bound = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let started = crate::startup::start_with(store.clone(), config, bound, false)
        .await
        .map_err(|e| CliError::Runtime(e.0))?;
    let services = started.state.services.clone();
    let admin = admin_caller(&store).await?;
    let mut passwords = Vec::new();
    if let Some(pw) = started.admin_password {
        passwords.push((crate::auth::bootstrap::ADMIN.to_string(), "admin", pw));
    }
    let mut people = Vec::new();
    for (name, roles) in PEOPLE {
        let password = crate::auth::password::generate();
        let made = services
            .identity
            .create_user(&admin, name.into(), password.clone(), roles.to_vec())
            .await?;
        passwords.push((name.to_string(), roles[0].as_str(), password));
        people.push(caller(Principal::User {
            id: made.id,
            username: made.username,
            roles: made.roles,
        }));
    }
    let story = Story {
        services: &services,
        olga: &people[0],
    };
    let watched = config.prometheus.contains_key("app");
    let mut played = story.play(&people[1], &people[2], &target).await;
    if let Ok(partitioned) = &played {
        played = if watched {
            let mut evaluator = crate::startup::evaluator(&started.state, config);
            evaluator.sources = evaluator.sources.at_story_time();
            story.last_hours(&evaluator, partitioned).await
        } else {
            pass_ms(READ_MINUTES * 60_000);
            Ok(partitioned.clone())
        };
    }
    target.close().await;
    played.map_err(|e| {
        CliError::Runtime(format!(
            "{e} (the demo history stopped part-way; start over on a new store: remove {} and run it again)",
            store.location()
        ))
    })?;
    println!(
        "Demo history made: \"STI subtype backfill\" with dev and staging approved and production \
         5% ready to start{}",
        if watched {
            " (its guardrails read the demo's Prometheus), \"Partitioned finance tables\" with its \
             pilot running on an allow list."
        } else {
            " once the application's metrics read healthy ([prometheus.app] is not configured), \
             \"Partitioned finance tables\" with dev and staging approved (its pilot waits for \
             staging's guardrails)."
        }
    );
    println!("Sign in at the console with one of these (passwords shown once, never again):");
    for (name, role, password) in passwords {
        println!("  {name:<6} {role:<9} {password}");
    }
    Ok(())
}

/// The admin `ensure_admin` made (or found), as a caller.
async fn admin_caller(store: &Store) -> Result<Caller, CliError> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(crate::db::StoreError::from)?;
    let admin = crate::auth::users::by_username(&mut conn, crate::auth::bootstrap::ADMIN)
        .await?
        .ok_or_else(|| {
            CliError::Runtime("the demo needs the user \"admin\"; it is missing".into())
        })?;
    Ok(caller(admin.principal()))
}

/// A request from the demo, as the auth middleware would make it.
fn caller(principal: Principal) -> Caller {
    Caller {
        principal: Some(principal),
        client_addr: "127.0.0.1".into(),
        user_agent: "rollout-console demo history".into(),
    }
}

/// Lets `hours` pass in the story.
fn pass(hours: i64) {
    pass_ms(hours * HOUR_MS);
}

fn pass_ms(ms: i64) {
    crate::system::backdate(crate::system::backdated_ms() - ms);
}

/// `minutes` of the story with a pass of the guardrail evaluator every 30 s
/// (every guardrail of the phases under way is due at that interval), each
/// reading stored and judged as the running console does.
async fn read_guardrails(
    evaluator: &crate::guardrails::evaluator::Evaluator,
    minutes: i64,
) -> Result<(), CliError> {
    for _ in 0..minutes * 2 {
        evaluator.tick().await?;
        pass_ms(30_000);
    }
    Ok(())
}

struct Story<'a> {
    services: &'a Services,
    olga: &'a Caller,
}

impl Story<'_> {
    async fn play(
        &self,
        ann: &Caller,
        bob: &Caller,
        target: &crate::backfill::target::Target,
    ) -> Result<String, CliError> {
        let sti = self
            .services
            .plans
            .create(
                self.olga,
                NewPlan {
                    template: "sti-backfill".into(),
                    name: "STI subtype backfill".into(),
                    flag_key: "enable_sti".into(),
                },
            )
            .await?
            .id;
        pass(2);
        // Dev: the dry-runs find the rows seed 000 breaks on purpose; the
        // data is fixed and the dry-runs run again, clean.
        self.start(&sti, "dev").await?;
        for job in ["school", "self_study"] {
            self.backfill(&sti, job, RunMode::DryRun, "dev", None)
                .await?;
        }
        pass(3);
        for fix in [
            "UPDATE projects_project SET course_code = 'C0' WHERE course_code IS NULL",
            "UPDATE projects_project SET study_frequency = 'weekly' \
             WHERE study_frequency NOT IN ('daily', 'weekly', 'monthly')",
        ] {
            sqlx::query(fix)
                .execute(&target.pool)
                .await
                .map_err(|e| CliError::Runtime(format!("fixing the demo rows failed: {e}")))?;
        }
        for job in ["school", "self_study"] {
            self.backfill(&sti, job, RunMode::DryRun, "dev", None)
                .await?;
        }
        self.tick_all(&sti, "dev", false).await?;
        self.request(&sti, "dev").await?;
        pass(1);
        self.decide(ann, &sti, "dev", "Dry-runs clean after the data fix; the test suite and schemathesis pass with ENABLE_STI=true.").await?;
        pass(47);
        // Staging: entry items, the dry-run, the live backfill off-peak
        // (chunk 2000, as in the seeds) and its verification.
        // The dry-run on staging's data comes first: STI is off there until
        // the phase starts (seed 000).
        self.tick_all(&sti, "staging", true).await?;
        for job in ["school", "self_study"] {
            self.backfill(&sti, job, RunMode::DryRun, "staging", None)
                .await?;
        }
        self.start(&sti, "staging").await?;
        // The partitioned tables begin too: dev, its parity verified.
        let partitioned = self.partitioned_dev(ann).await?;
        pass(14);
        for job in ["school", "self_study"] {
            self.backfill(&sti, job, RunMode::Run, "staging", Some(2_000))
                .await?;
            self.backfill(&sti, job, RunMode::Verify, "staging", None)
                .await?;
        }
        pass(3);
        // One school reported wrong course names: it is taken off the new
        // code path alone while the data team looks.
        self.command(
            self.olga,
            &sti,
            PlanCommand::Rollback {
                kind: RollbackKind::Entity,
                confirm: "STI subtype backfill".into(),
                reason: "org-4711 reports wrong course names on the new code path; off it until the data team has looked".into(),
                entity: "org-4711".into(),
                accept_irreversible: false,
            },
        )
        .await?;
        pass(5);
        self.tick_all(&sti, "staging", false).await?;
        self.request(&sti, "staging").await?;
        pass(2);
        self.decide(bob, &sti, "staging", "Backfill and coverage verified on staging; its latency, 5xx and health guardrails are watched from the application's Prometheus.").await?;
        self.partitioned_staging(&partitioned, bob).await?;
        // Staging soaks its 48 hours; production 5% is prepared (its entry
        // items, the production dry-runs within 24 h of its start).
        pass(22);
        self.tick_all(&sti, "production 5%", true).await?;
        for job in ["school", "self_study"] {
            self.backfill(&sti, job, RunMode::DryRun, "production", None)
                .await?;
        }
        pass(1);
        Ok(partitioned)
    }

    /// "Partitioned finance tables" made and its dev phase approved: the
    /// row counts verified on dev's data.
    async fn partitioned_dev(&self, ann: &Caller) -> Result<String, CliError> {
        let plan = self
            .services
            .plans
            .create(
                self.olga,
                NewPlan {
                    template: "partitioned-tables".into(),
                    name: "Partitioned finance tables".into(),
                    flag_key: "use_partitioned_tables".into(),
                },
            )
            .await?
            .id;
        self.start(&plan, "dev").await?;
        self.verify_parity(&plan, "dev").await?;
        self.tick_all(&plan, "dev", false).await?;
        self.request(&plan, "dev").await?;
        self.decide(
            ann,
            &plan,
            "dev",
            "Row counts match on dev; queries route to the partitioned tables.",
        )
        .await?;
        Ok(plan)
    }

    /// Its staging phase, a day later: started, verified and approved.
    async fn partitioned_staging(&self, plan: &str, bob: &Caller) -> Result<(), CliError> {
        self.tick_all(plan, "staging", true).await?;
        self.start(plan, "staging").await?;
        self.verify_parity(plan, "staging").await?;
        self.tick_all(plan, "staging", false).await?;
        self.request(plan, "staging").await?;
        self.decide(
            bob,
            plan,
            "staging",
            "Load tests and parity fine on staging; its 5xx and health guardrails are watched.",
        )
        .await
    }

    /// Both parity jobs verified in `environment`.
    async fn verify_parity(&self, plan: &str, environment: &str) -> Result<(), CliError> {
        for job in ["parity_revenue", "parity_expense"] {
            self.backfill(plan, job, RunMode::Verify, environment, None)
                .await?;
        }
        Ok(())
    }

    /// The story's last hours, its guardrails read every 30 s: after the
    /// first, the partitioned plan's pilot starts (staging has soaked, its
    /// parity is verified again, the pilot organisations loaded from the
    /// phase's query onto the allow list); it runs for the second.
    async fn last_hours(
        &self,
        evaluator: &crate::guardrails::evaluator::Evaluator,
        plan: &str,
    ) -> Result<String, CliError> {
        read_guardrails(evaluator, READ_MINUTES / 2).await?;
        self.verify_parity(plan, "staging").await?;
        let phase_id = self.phase(plan, "pilot").await?.id;
        let load = PlanCommand::LoadAllowQuery {
            phase_id,
            reason: "the pilot: small, low-risk organisations, as the phase's query picks them"
                .into(),
        };
        self.command(self.olga, plan, load).await?;
        self.tick_all(plan, "pilot", true).await?;
        self.start(plan, "pilot").await?;
        read_guardrails(evaluator, READ_MINUTES / 2).await?;
        Ok(plan.to_string())
    }

    async fn view(&self, plan: &str) -> Result<PlanView, CliError> {
        Ok(self.services.plans.plan(self.olga, plan.into()).await?)
    }

    async fn phase(&self, plan: &str, name: &str) -> Result<PhaseView, CliError> {
        self.view(plan)
            .await?
            .phases
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| CliError::Runtime(format!("the plan has no phase {name:?}")))
    }

    async fn command(&self, who: &Caller, plan: &str, c: PlanCommand) -> Result<(), CliError> {
        self.services.plans.command(who, plan.into(), c).await?;
        Ok(())
    }

    async fn start(&self, plan: &str, phase: &str) -> Result<(), CliError> {
        let phase_id = self.phase(plan, phase).await?.id;
        self.command(self.olga, plan, PlanCommand::StartPhase { phase_id })
            .await
    }

    async fn request(&self, plan: &str, phase: &str) -> Result<(), CliError> {
        let phase_id = self.phase(plan, phase).await?.id;
        self.command(self.olga, plan, PlanCommand::RequestApproval { phase_id })
            .await
    }

    async fn decide(
        &self,
        who: &Caller,
        plan: &str,
        phase: &str,
        comment: &str,
    ) -> Result<(), CliError> {
        let p = self.phase(plan, phase).await?;
        let decide = PlanCommand::Decide {
            phase_id: p.id,
            verdict: Verdict::Approve,
            comment: comment.into(),
            evidence: p.evidence_hash,
            signature: None,
        };
        self.command(who, plan, decide).await
    }

    /// Ticks the phase's manual items (its entry items, or its checklist).
    async fn tick_all(&self, plan: &str, phase: &str, entry: bool) -> Result<(), CliError> {
        let items = self.phase(plan, phase).await?.checklist;
        for it in items
            .iter()
            .filter(|i| i.entry == entry && i.check.is_none())
        {
            let tick = PlanCommand::Tick {
                item_id: it.id.clone(),
                ticked: true,
                comment: String::new(),
            };
            self.command(self.olga, plan, tick).await?;
        }
        Ok(())
    }

    /// Runs a job in `mode` for `environment` and waits until it ends.
    async fn backfill(
        &self,
        plan: &str,
        job: &str,
        mode: RunMode,
        environment: &str,
        chunk: Option<i64>,
    ) -> Result<(), CliError> {
        let request = StartRun {
            mode: Some(mode),
            chunk,
            environment: Some(environment.into()),
            ..Default::default()
        };
        let run = self
            .services
            .backfill
            .start(self.olga, plan.into(), job.into(), request)
            .await?;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let runs = self.services.backfill.runs(self.olga, plan.into()).await?;
            match runs.iter().find(|r| r.id == run.id) {
                Some(r) if r.status == RunStatus::Running => continue,
                Some(r) if r.status == RunStatus::Done => return Ok(()),
                Some(r) => {
                    return Err(CliError::Runtime(format!(
                        "the demo's {mode} of {job} ended {}: {}",
                        r.status, r.result
                    )))
                }
                None => return Err(CliError::Runtime(format!("run {} vanished", run.id))),
            }
        }
    }
}
