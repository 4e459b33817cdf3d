//! What a run does (its mode) and where it stands (its status): the closed
//! sets the API, the UI and the store share, defined once in `app::dto`.
pub use app::dto::backfill::{RunMode as Mode, RunStatus};
