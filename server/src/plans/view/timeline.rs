//! A plan's timeline on one time axis, from its audit trail and its
//! guardrails' readings: each environment's exposure as a step line, each
//! guardrail's value against its bound (1 = the bound), and markers for
//! phase starts, approvals, breaches, guardrail actions and rollbacks.
use app::dto::audit::AuditEvent;
use serde_json::Value;

use crate::charts::timeline::{Marker, Timeline};
use crate::plans::guardrail::measurements::Measurement;

fn details(e: &AuditEvent) -> Value {
    serde_json::from_str(&e.details).unwrap_or(Value::Null)
}

/// How far outside its range a reading is: value ÷ max, or min ÷ value,
/// whichever is larger (1 at the bound).
pub fn ratio(m: &Measurement) -> Option<f64> {
    let v = m.value?;
    // A bound of 0 (none allowed): 0 within it, above 1 by how far outside.
    let over = m.bounds.1.map(|hi| match hi {
        hi if hi > 0.0 => v / hi,
        hi if v <= hi => 0.0,
        hi => 1.0 + (v - hi).min(9.0),
    });
    let under = m.bounds.0.filter(|_| v > 0.0).map(|lo| lo / v);
    match (over, under) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
    .filter(|r| r.is_finite())
}

/// `events` oldest first (the plan's, up to `to_ms`), `readings` any order.
pub fn build<'a>(
    events: impl IntoIterator<Item = &'a AuditEvent>,
    readings: &[Measurement],
    (from_ms, to_ms): (i64, i64),
) -> Timeline {
    let mut t = Timeline {
        from_ms,
        to_ms,
        ..Timeline::default()
    };
    for e in events {
        let d = details(e);
        let mut set = |env: &str, bp: i64| {
            t.exposures
                .entry(env.to_string())
                .or_default()
                .push((e.at_ms, bp))
        };
        match e.action.as_str() {
            "phase.start" => {
                if let (Some(env), Some(bp)) =
                    (d["environment"].as_str(), d["exposure_bp"].as_i64())
                {
                    set(env, bp);
                }
            }
            _ => {
                if let Some(map) = d["exposures"].as_object() {
                    for (env, change) in map {
                        if let Some(bp) = change["after_bp"].as_i64() {
                            set(env, bp);
                        }
                    }
                }
            }
        }
        if e.at_ms < from_ms {
            continue;
        }
        let marker = match e.action.as_str() {
            // A pilot at 0 % draws no line: its label says who is on.
            "phase.start" => Some((
                "start",
                format!(
                    "start {}: {}",
                    d["phase"].as_str().unwrap_or(""),
                    app::dto::plans::exposure_text(
                        d["exposure_bp"].as_i64().unwrap_or(0),
                        d["allowed_now"].as_u64().unwrap_or(0) as usize
                    )
                ),
            )),
            "gate.approve" => Some(("approval", format!("approved by {}", e.actor_name))),
            "gate.override" => Some(("approval", format!("override by {}", e.actor_name))),
            "guardrail.state" if matches!(d["to"].as_str(), Some("failed" | "error")) => Some((
                "breach",
                format!(
                    "{} {}",
                    d["guardrail"].as_str().unwrap_or(""),
                    d["to"].as_str().unwrap_or("")
                ),
            )),
            "guardrail.action" => Some((
                "action",
                format!(
                    "{} → {}{}",
                    d["guardrail"].as_str().unwrap_or(""),
                    d["action"].as_str().unwrap_or(""),
                    if d["withheld"].is_string() {
                        " (withheld)"
                    } else {
                        ""
                    }
                ),
            )),
            "plan.continue" => Some((
                "decision",
                format!("continue despite {}", d["issue"].as_str().unwrap_or("")),
            )),
            a if a.starts_with("plan.rollback") || a == "plan.pause" || a == "plan.abort" => {
                Some(("rollback", format!("{a} by {}", e.actor_name)))
            }
            _ => None,
        };
        if let Some((kind, label)) = marker {
            t.markers.push(Marker {
                at_ms: e.at_ms,
                kind,
                label,
            });
        }
    }
    let mut sorted: Vec<&Measurement> = readings
        .iter()
        .filter(|m| (from_ms..=to_ms).contains(&m.at_ms))
        .collect();
    sorted.sort_by_key(|m| m.at_ms);
    for m in sorted {
        if let Some(r) = ratio(m) {
            let key = format!("{} ({})", m.guardrail, m.environment);
            t.guardrails.entry(key).or_default().push((m.at_ms, r));
        }
    }
    keep_nearest_bounds(&mut t);
    t
}

/// At most this many guardrail lines: more read as noise (and cost the
/// page): the ones that came nearest their bounds are kept.
const MAX_GUARDRAIL_LINES: usize = 8;

fn keep_nearest_bounds(t: &mut Timeline) {
    if t.guardrails.len() <= MAX_GUARDRAIL_LINES {
        return;
    }
    let peaks: Vec<(String, f64)> = t
        .guardrails
        .iter()
        .map(|(k, pts)| (k.clone(), pts.iter().map(|p| p.1).fold(f64::MIN, f64::max)))
        .collect();
    let (_, hidden) = nearest_bounds(peaks);
    for key in hidden {
        t.guardrails.remove(&key);
        t.hidden_guardrails += 1;
    }
}

/// The lines to draw (at most [`MAX_GUARDRAIL_LINES`], highest peak first,
/// then by name) and the ones left out.
pub fn nearest_bounds<K: Ord>(mut peaks: Vec<(K, f64)>) -> (Vec<K>, Vec<K>) {
    peaks.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let hidden = peaks.split_off(peaks.len().min(MAX_GUARDRAIL_LINES));
    (
        peaks.into_iter().map(|p| p.0).collect(),
        hidden.into_iter().map(|p| p.0).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::guardrail::Outcome;

    fn event(seq: i64, at_ms: i64, action: &str, details: Value) -> AuditEvent {
        AuditEvent {
            seq,
            at_ms,
            actor_kind: "user".into(),
            actor_id: "u".into(),
            actor_name: "olga".into(),
            action: action.into(),
            subject: "plan:p".into(),
            details: details.to_string(),
            client_addr: String::new(),
            user_agent: String::new(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn exposure_steps_markers_and_ratios() {
        let events = [
            event(
                1,
                10,
                "phase.start",
                serde_json::json!({"phase": "dev", "environment": "dev", "exposure_bp": 10000}),
            ),
            event(
                2,
                20,
                "phase.start",
                serde_json::json!({"phase": "production 5%", "environment": "production", "exposure_bp": 500}),
            ),
            event(
                3,
                30,
                "guardrail.state",
                serde_json::json!({"guardrail": "error_rate", "to": "failed"}),
            ),
            event(
                4,
                31,
                "plan.rollback.standard",
                serde_json::json!({"exposures": {"production": {"before_bp": 500, "after_bp": 0}}}),
            ),
        ];
        let m = Measurement {
            plan_id: "p".into(),
            guardrail: "error_rate".into(),
            environment: "production".into(),
            at_ms: 30,
            value: Some(0.002),
            sample: None,
            bounds: (None, Some(0.001)),
            threshold: "value ≤ 0.001".into(),
            outcome: Outcome::Failed,
            detail: String::new(),
            read_from: None,
        };
        let m_copy = m.clone();
        let t = build(&events, &[m], (0, 40));
        assert_eq!(t.exposures["production"], [(20, 500), (31, 0)]);
        assert_eq!(t.exposures["dev"], [(10, 10000)]);
        assert_eq!(t.guardrails["error_rate (production)"], [(30, 2.0)]);
        let none_allowed = Measurement {
            bounds: (None, Some(0.0)),
            value: Some(1200.0),
            ..m_copy.clone()
        };
        assert_eq!(
            ratio(&none_allowed),
            Some(10.0),
            "max 0 and 1200 rows: far outside"
        );
        let within = Measurement {
            value: Some(0.0),
            ..none_allowed
        };
        assert_eq!(ratio(&within), Some(0.0));
        let kinds: Vec<&str> = t.markers.iter().map(|m| m.kind).collect();
        assert_eq!(kinds, ["start", "start", "breach", "rollback"]);
        // A range that starts later keeps the exposure before it, drops older markers.
        let later = build(&events, &[], (25, 40));
        assert_eq!(later.exposures["production"][0], (20, 500));
        assert_eq!(later.markers.len(), 2);
    }

    #[test]
    fn many_guardrails_keep_the_lines_nearest_their_bounds() {
        let mut t = Timeline::default();
        for i in 0..20 {
            let peak = if i == 13 { 3.0 } else { i as f64 / 100.0 };
            t.guardrails
                .insert(format!("g{i:02} (dev)"), vec![(1, 0.0), (2, peak)]);
        }
        keep_nearest_bounds(&mut t);
        assert_eq!(t.guardrails.len(), MAX_GUARDRAIL_LINES);
        assert_eq!(t.hidden_guardrails, 12);
        assert!(
            t.guardrails.contains_key("g13 (dev)"),
            "the breached one stays"
        );
        assert!(t.guardrails.contains_key("g19 (dev)") && !t.guardrails.contains_key("g00 (dev)"));
    }
}
