//! Steering a run from outside it: pause, cancel, and a new chunk size or
//! rate ceiling, read by the runner before each chunk.
use std::sync::atomic::{AtomicU8, Ordering};

/// Steers a running job from elsewhere (a signal, the API, the UI): pause,
/// cancel, or a new chunk size or rate ceiling, taken before the next chunk.
#[derive(Debug, Default)]
pub struct Control {
    state: AtomicU8,
    tune: std::sync::Mutex<(Option<i64>, Option<i64>)>,
}

impl Control {
    pub fn pause(&self) {
        self.state.store(1, Ordering::SeqCst);
    }
    pub fn cancel(&self) {
        self.state.store(2, Ordering::SeqCst);
    }
    pub(super) fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }
    /// A fixed chunk size and/or a rows/s ceiling (0 = none) from now on.
    pub fn retune(&self, chunk: Option<i64>, max_rows_per_sec: Option<i64>) {
        if let Ok(mut t) = self.tune.lock() {
            *t = (chunk.or(t.0), max_rows_per_sec.or(t.1));
        }
    }
    pub(super) fn take_tune(&self) -> (Option<i64>, Option<i64>) {
        self.tune
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }
}
