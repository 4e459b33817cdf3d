//! Every flag's OFREP answer in one environment, written out once per
//! snapshot of the flags but for the entity's part (its bucket decides
//! value, variant and reason): an evaluation joins prepared pieces of JSON
//! instead of building and serialising a tree, so the bulk answer of 350
//! flags costs little more than 350 buckets. The success body is
//! `{"key", "value", "variant", "reason", "metadata": {plan, planId,
//! environment, phase, exposureBp, bucket}}`.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use prometheus::{IntCounter, IntCounterVec};
use serde_json::json;

use super::wire::{self, ErrorCode};
use crate::flags::bucketing::{evaluate, Reason};
use crate::flags::cache::{Flag, Snapshot};

/// The reasons an evaluation can give, in counter order.
const REASONS: [Reason; 4] = [
    Reason::Disabled,
    Reason::Denied,
    Reason::Allowed,
    Reason::Split,
];

/// One flag's answer in one environment, but for the entity's part.
struct Prepared {
    flag: Arc<Flag>,
    /// `{"key":"…",`
    head: String,
    /// `"value":…,"variant":"…",` for on and for off.
    on: String,
    off: String,
    /// `"metadata":{…,"bucket":`
    meta: String,
    /// Why the stored values cannot be served (answered `GENERAL`).
    broken: Option<String>,
    /// Evaluations by reason (`REASONS`), resolved on first use.
    counted: [OnceLock<IntCounter>; 4],
}

fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

impl Prepared {
    fn new(flag: Arc<Flag>, environment: &str) -> Prepared {
        let values = &flag.record.values;
        let broken = [&values.on, &values.off]
            .into_iter()
            .find_map(|v| values.value_type.coerce(v).err())
            .map(|why| {
                format!(
                    "flag {:?} cannot be served: its stored value {why}; save plan {:?} again",
                    flag.record.key, flag.plan_name
                )
            });
        let piece = |on: bool| {
            let (value, variant) = values.served(on);
            format!("\"value\":{value},\"variant\":{},", quoted(variant))
        };
        let mut meta = format!(
            "\"metadata\":{{\"plan\":{},\"planId\":{},\"environment\":{},",
            quoted(&flag.plan_name),
            quoted(&flag.plan_id),
            quoted(environment)
        );
        let set_by = flag.set_by(environment);
        if !set_by.is_empty() {
            let _ = write!(meta, "\"phase\":{},", quoted(set_by));
        }
        let _ = write!(
            meta,
            "\"exposureBp\":{},\"bucket\":",
            flag.rule(environment).basis_points
        );
        Prepared {
            head: format!("{{\"key\":{},", quoted(&flag.record.key)),
            on: piece(true),
            off: piece(false),
            meta,
            broken,
            flag,
            counted: Default::default(),
        }
    }

    /// Writes the answer for `entity` into `out`; its reason, or the failure.
    fn write(&self, environment: &str, entity: &str, out: &mut String) -> Result<Reason, &str> {
        if let Some(why) = &self.broken {
            return Err(why);
        }
        let e = evaluate(&self.flag.record.key, self.flag.rule(environment), entity);
        out.push_str(&self.head);
        out.push_str(if e.value { &self.on } else { &self.off });
        out.push_str("\"reason\":\"");
        out.push_str(wire::reason(e.reason));
        out.push_str("\",");
        out.push_str(&self.meta);
        let _ = write!(out, "{}}}}}", e.bucket);
        Ok(e.reason)
    }

    fn count(&self, counter: &IntCounterVec, environment: &str, reason: Reason) {
        let i = REASONS.iter().position(|r| *r == reason).unwrap_or(0);
        self.counted[i]
            .get_or_init(|| {
                counter.with_label_values(&[
                    &self.flag.record.key,
                    environment,
                    wire::reason(reason),
                ])
            })
            .inc();
    }
}

/// Every flag's prepared answer in one environment, as of one snapshot.
pub struct Answers {
    snapshot: Arc<Snapshot>,
    environment: String,
    /// In key order (the bulk answer lists them so).
    flags: Vec<Prepared>,
    by_key: HashMap<String, usize>,
}

/// What an evaluation of one flag came to.
pub enum One {
    Found(String),
    NotFound,
    Broken(String),
}

impl Answers {
    pub fn new(snapshot: Arc<Snapshot>, environment: &str) -> Answers {
        let flags: Vec<Prepared> = snapshot
            .keys
            .iter()
            .map(|k| Prepared::new(snapshot.flags[k].clone(), environment))
            .collect();
        let by_key = snapshot
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        Answers {
            snapshot,
            environment: environment.to_string(),
            flags,
            by_key,
        }
    }

    /// The digest of the flags they were prepared from, in their environment.
    pub fn digest(&self) -> Arc<str> {
        self.snapshot.digest(&self.environment)
    }

    /// Whether these were prepared from `snapshot`.
    pub fn of(&self, snapshot: &Arc<Snapshot>) -> bool {
        Arc::ptr_eq(&self.snapshot, snapshot)
    }

    /// Flag `key` for `entity`, counted.
    pub fn one(&self, key: &str, entity: &str, counter: &IntCounterVec) -> One {
        let Some(p) = self.by_key.get(key).map(|i| &self.flags[*i]) else {
            counter
                .with_label_values(&["(unknown)", &self.environment, "FLAG_NOT_FOUND"])
                .inc();
            return One::NotFound;
        };
        let mut out = String::with_capacity(256);
        match p.write(&self.environment, entity, &mut out) {
            Ok(reason) => {
                p.count(counter, &self.environment, reason);
                One::Found(out)
            }
            Err(why) => One::Broken(why.to_string()),
        }
    }

    /// The bulk answer's `flags` and `metadata` for `entity`, counted:
    /// `{"flags":[…],"metadata":{…},"eventStreams":[{"type":"sse","url":STREAM,…}]}`.
    pub fn all(&self, entity: &str, stream: &str, counter: &IntCounterVec) -> String {
        let mut out = String::with_capacity(64 + self.flags.len() * 240);
        out.push_str("{\"flags\":[");
        for (i, p) in self.flags.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match p.write(&self.environment, entity, &mut out) {
                Ok(reason) => p.count(counter, &self.environment, reason),
                Err(why) => {
                    tracing::error!(flag = %p.flag.record.key, "{why}");
                    out.push_str(
                        &wire::failure(Some(&p.flag.record.key), ErrorCode::General, why)
                            .to_string(),
                    );
                }
            }
        }
        let tail = json!({
            "metadata": { "environment": self.environment, "version": &*self.snapshot.digest(&self.environment) },
            "eventStreams": [{ "type": "sse", "url": stream, "inactivityDelaySec": 120 }],
        })
        .to_string();
        out.push_str("],");
        out.push_str(&tail[1..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::store::{EnvState, FlagRecord};
    use crate::flags::values::{FlagValues, ValueType};
    use serde_json::Value;

    fn snapshot(values: FlagValues, state: EnvState) -> Arc<Snapshot> {
        let record = FlagRecord {
            key: "checkout".into(),
            salt: "s".into(),
            values,
            states: [("production".to_string(), state)].into(),
        };
        Arc::new(Snapshot::of(vec![Flag::new(
            record,
            "p1".into(),
            "Check \"out\"".into(),
        )]))
    }

    fn counter() -> IntCounterVec {
        IntCounterVec::new(
            prometheus::Opts::new("c", "c"),
            &["flag", "environment", "reason"],
        )
        .unwrap()
    }

    fn found(one: One) -> Value {
        match one {
            One::Found(text) => serde_json::from_str(&text).expect("valid JSON"),
            _ => panic!("not found"),
        }
    }

    #[test]
    fn an_answer_carries_value_variant_reason_and_the_phase_that_set_it() {
        let on = EnvState {
            enabled: true,
            exposure_bp: 10_000,
            set_by: "production 100%".into(),
            ..EnvState::default()
        };
        let values = FlagValues {
            value_type: ValueType::Float,
            on: json!(1.0),
            off: json!(0.0),
            on_variant: "full".into(),
            off_variant: "none".into(),
        };
        let c = counter();
        let answers = Answers::new(snapshot(values.clone(), on.clone()), "production");
        let body = found(answers.one("checkout", "org-1", &c));
        assert_eq!(body["reason"], "SPLIT");
        let text = match answers.one("checkout", "org-1", &c) {
            One::Found(t) => t,
            _ => unreachable!(),
        };
        assert!(
            text.contains("\"value\":1.0,"),
            "a float stays a float: {text}"
        );
        assert_eq!(body["variant"], "full");
        assert_eq!(body["metadata"]["phase"], "production 100%");
        assert_eq!(body["metadata"]["plan"], "Check \"out\"", "quoted right");
        assert_eq!(body["metadata"]["exposureBp"], 10_000);
        assert!(body["metadata"]["bucket"].as_u64().unwrap() < 10_000);
        assert_eq!(
            c.with_label_values(&["checkout", "production", "SPLIT"])
                .get(),
            2
        );

        let dev = Answers::new(snapshot(values.clone(), on.clone()), "dev");
        let body = found(dev.one("checkout", "org-1", &c));
        assert_eq!(
            (&body["reason"], &body["variant"]),
            (&json!("DISABLED"), &json!("none"))
        );
        assert!(
            body["metadata"].get("phase").is_none(),
            "never set: no phase"
        );
        assert!(matches!(dev.one("nope", "org-1", &c), One::NotFound));

        let bulk: Value =
            serde_json::from_str(&dev.all("org-1", "http://x/events?t=1", &c)).unwrap();
        assert_eq!(bulk["flags"][0]["key"], "checkout");
        assert_eq!(bulk["metadata"]["environment"], "dev");
        assert_eq!(bulk["eventStreams"][0]["url"], "http://x/events?t=1");

        let broken = FlagValues {
            on: Value::Null,
            ..values
        };
        let answers = Answers::new(snapshot(broken, on), "production");
        assert!(
            matches!(answers.one("checkout", "org-1", &c), One::Broken(why) if why.contains("null is not a float"))
        );
        let bulk: Value = serde_json::from_str(&answers.all("org-1", "u", &c)).unwrap();
        assert_eq!(
            bulk["flags"][0]["errorCode"], "GENERAL",
            "its own failure in the list"
        );
    }
}
