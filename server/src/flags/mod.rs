//! Feature flags: each rollout plan owns one. So far the evaluation rules
//! (sticky bucketing and list precedence); storage, the evaluate endpoint and
//! OFREP come with the plans.
pub mod bucketing;
