//! The job manager: backfill runs the server drives for its plans — where
//! each goes (its environment and target, `placement`), starting, pausing,
//! retuning and cancelling them (`manager`), letting one go on outside its
//! window (`window_override`), the backfill port and its REST
//! routes (`service`, `rest`), finding a job in its plan's file
//! (`plan_job`), the run as the pages show it (`view`) and the seeds'
//! metric names (`job_metrics`). It sits above plans (it asks them whether
//! a run may start); the engine it drives is `backfill`, below plans.
pub mod job_metrics;
pub mod manager;
pub mod placement;
pub mod plan_job;
pub mod rest;
pub mod service;
pub mod view;
pub mod window_override;
