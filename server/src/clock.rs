//! The console's clock: wall-clock time, which tests move forward to pass a
//! 48-hour soak in a second. Nothing in the configuration, the API or the
//! command line moves it; a production console runs on the system's time.
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Unix milliseconds, shared by everything that judges time (soaks,
/// evidence age) so they agree. Clones share one offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    moved: Arc<tokio::sync::Notify>,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        crate::system::now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// The system's time at this clock's `ms`: what sources that keep their
    /// own time (Prometheus) are asked for.
    pub fn system_ms(&self, ms: i64) -> i64 {
        ms - self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock (never the system's) forward by `ms`: for tests.
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms.max(0), Ordering::Relaxed);
        self.moved.notify_one();
    }

    /// Resolves once this clock has been moved (at once if it moved since
    /// the last wait): the guardrail evaluator reads again without waiting
    /// for its next second. A clock on the system's time never resolves.
    pub async fn moved(&self) {
        self.moved.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_offset_and_time_never_goes_back() {
        let clock = Clock::default();
        let shared = clock.clone();
        let before = clock.now_ms();
        shared.advance(48 * 3_600_000);
        assert!(clock.now_ms() >= before + 48 * 3_600_000);
        shared.advance(-1_000_000);
        assert!(clock.now_ms() >= before + 48 * 3_600_000, "no going back");
    }
}
