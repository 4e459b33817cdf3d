//! Each guardrail's baseline as the evaluator judges against it, exported as
//! `rollout_guardrail_baseline{plan_id, guardrail, environment}`: alert
//! rules compare against the same value as the console (one per rollout,
//! captured before its first exposure) instead of a baseline of their own
//! (`examples/prometheus/rollout-rules.yml`). The label sets are bounded by
//! the active plans' guardrails and environments.
use prometheus::{GaugeVec, Opts, Registry};

#[derive(Clone)]
pub struct Baselines {
    gauge: GaugeVec,
}

impl Baselines {
    pub fn register(registry: &Registry) -> Result<Baselines, prometheus::Error> {
        let gauge = GaugeVec::new(
            Opts::new(
                "rollout_guardrail_baseline",
                "The baseline a guardrail's relative bounds judge against, per plan and environment.",
            ),
            &["plan_id", "guardrail", "environment"],
        )?;
        registry.register(Box::new(gauge.clone()))?;
        Ok(Baselines { gauge })
    }

    pub fn set(&self, plan_id: &str, guardrail: &str, environment: &str, value: f64) {
        self.gauge
            .with_label_values(&[plan_id, guardrail, environment])
            .set(value);
    }
}
