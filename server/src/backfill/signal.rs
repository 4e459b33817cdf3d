//! The built-in health signals of a PostgreSQL target (`backfill::health`
//! reads them): their names as plan files write them, what each measures,
//! and the console's own statement behind each.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Sessions waiting for a heavyweight lock now.
    LockWaits,
    /// The longest such wait, in seconds (0 when none waits).
    LongestLockWaitS,
    /// Connections in use, as a share of `max_connections` (0…1).
    Connections,
    /// How far the slowest replica is behind, in seconds (on a standby: how
    /// old its last replayed transaction is).
    ReplicationLagS,
    /// Blocks found in shared buffers, as a share of blocks read (0…1),
    /// since the previous reading.
    CacheHitRatio,
    /// Mean execution time of the statements that ran since the previous
    /// reading, in ms (`pg_stat_statements`).
    StatementMeanMs,
}

pub const SIGNALS: [Signal; 6] = [
    Signal::LockWaits,
    Signal::LongestLockWaitS,
    Signal::Connections,
    Signal::ReplicationLagS,
    Signal::CacheHitRatio,
    Signal::StatementMeanMs,
];

pub(super) const SEES_ALL_SESSIONS: &str =
    "SELECT CAST(CASE WHEN pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') \
     THEN 1 ELSE 0 END AS float8), CAST(NULL AS float8)";

impl Signal {
    pub fn parse(name: &str) -> Option<Signal> {
        SIGNALS.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::LockWaits => "lock_waits",
            Signal::LongestLockWaitS => "longest_lock_wait_s",
            Signal::Connections => "connections",
            Signal::ReplicationLagS => "replication_lag_s",
            Signal::CacheHitRatio => "cache_hit_ratio",
            Signal::StatementMeanMs => "statement_mean_ms",
        }
    }

    /// The names, for messages.
    pub fn names() -> String {
        SIGNALS.map(Signal::name).join(", ")
    }

    /// A high value is the unhealthy one (every signal but the cache hit
    /// ratio): a throttle's number is then a ceiling, else a floor.
    pub fn higher_is_worse(self) -> bool {
        self != Signal::CacheHitRatio
    }

    /// What it measures, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Signal::LockWaits => "sessions waiting for a lock",
            Signal::LongestLockWaitS => "the longest lock wait (s)",
            Signal::Connections => "connections in use / max_connections",
            Signal::ReplicationLagS => "replication lag (s)",
            Signal::CacheHitRatio => "cache hit ratio since the last reading",
            Signal::StatementMeanMs => "mean statement time since the last reading (ms)",
        }
    }

    /// The statement: one row of two numbers. For a gauge, the value and
    /// NULL; for a counter pair, the cumulative numerator and denominator,
    /// of which a reading takes the change since the previous one.
    pub fn sql(self) -> &'static str {
        match self {
            Signal::LockWaits => {
                "SELECT CAST(count(*) AS float8), CAST(NULL AS float8) FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock'"
            }
            Signal::LongestLockWaitS => {
                "SELECT CAST(coalesce(max(extract(epoch FROM clock_timestamp() - state_change)), 0) AS float8), \
                 CAST(NULL AS float8) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            }
            Signal::Connections => {
                "SELECT CAST(count(*) AS float8) / CAST(current_setting('max_connections') AS float8), \
                 CAST(NULL AS float8) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            }
            Signal::ReplicationLagS => {
                "SELECT CAST(CASE WHEN pg_is_in_recovery() \
                 THEN extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) \
                 ELSE (SELECT max(extract(epoch FROM replay_lag)) FROM pg_stat_replication) END AS float8), \
                 CAST(NULL AS float8)"
            }
            Signal::CacheHitRatio => {
                "SELECT CAST(blks_hit AS float8), CAST(blks_hit + blks_read AS float8) \
                 FROM pg_stat_database WHERE datname = current_database()"
            }
            Signal::StatementMeanMs => {
                "SELECT CAST(sum(total_exec_time) AS float8), CAST(sum(calls) AS float8) \
                 FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            }
        }
    }

    pub(super) fn is_counter(self) -> bool {
        matches!(self, Signal::CacheHitRatio | Signal::StatementMeanMs)
    }

    /// Reads other sessions' waits, which PostgreSQL hides from a role
    /// without `pg_read_all_stats`.
    pub(super) fn needs_all_sessions(self) -> bool {
        matches!(self, Signal::LockWaits | Signal::LongestLockWaitS)
    }
}
