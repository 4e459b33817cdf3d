//! Which environment a PromQL guardrail judges. Evidence from one
//! environment never satisfies another: a reading for a phase in staging
//! must come from staging's metrics. A source tells environments apart when
//! the environment has a server of its own (`[prometheus.NAME.environments.
//! ENV]`), or when its query names the environment (`{{environment}}`, put
//! where the environment's label goes, becomes that environment as a PromQL
//! string). One that cannot is refused for every environment before the last
//! (production: in the usual setup a shared server's traffic is mostly
//! production's), unless the plan says `shared_source = true` on purpose.

/// Stands for the phase's environment in a guardrail's queries.
pub const PLACEHOLDER: &str = "{{environment}}";

/// `query` as it runs for `environment`: every `{{environment}}` replaced
/// by the environment's name as a PromQL string literal.
pub fn query_for(query: &str, environment: &str) -> String {
    let mut literal = String::with_capacity(environment.len() + 2);
    literal.push('"');
    for c in environment.chars() {
        if matches!(c, '\\' | '"') {
            literal.push('\\');
        }
        literal.push(c);
    }
    literal.push('"');
    query.replace(PLACEHOLDER, &literal)
}

/// The query a baseline over `window_ms` asks (at the capture's time): the
/// mean of `query` (as it runs for the environment) over the window, as a
/// PromQL subquery sampled at most 240 times.
pub fn baseline_query(query: &str, environment: &str, window_ms: Option<i64>) -> String {
    let query = query_for(query, environment);
    match window_ms {
        None => query,
        Some(ms) => {
            let secs = (ms / 1000).max(1);
            let step = (secs / 240).clamp(1, 3600);
            format!("avg_over_time(({query})[{secs}s:{step}s])")
        }
    }
}

/// A PromQL source as it reads one environment.
pub struct Reads<'a> {
    pub server: &'a str,
    /// The value's query and, if any, the sample's.
    pub queries: [Option<&'a str>; 2],
    /// The plan says one source judges every environment.
    pub shared: bool,
    /// The environment has a server of its own.
    pub own_server: bool,
}

/// Why the source cannot judge `environment` apart from the others (`None`:
/// it can, or `environment` is `production`, the last one).
pub fn cannot_tell(reads: &Reads<'_>, environment: &str, production: &str) -> Option<String> {
    let named = reads
        .queries
        .iter()
        .flatten()
        .all(|q| q.contains(PLACEHOLDER));
    if environment == production || reads.own_server || named || reads.shared {
        return None;
    }
    Some(format!(
        "it watches {environment}, but prometheus {server:?} cannot tell {environment}'s metrics from \
         {production}'s: put {PLACEHOLDER} in its queries where the environment's label goes \
         (e.g. http_requests_total{{environment={PLACEHOLDER}}}), give {environment} a server of its \
         own in console.toml ([prometheus.{server}.environments.{environment}] url = \"http://…\"), \
         or say shared_source = true if one source is meant to judge every environment",
        server = reads.server,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_becomes_a_promql_string() {
        assert_eq!(
            query_for(
                "sum(up{environment={{environment}}}) + x{e={{environment}}}",
                "staging"
            ),
            "sum(up{environment=\"staging\"}) + x{e=\"staging\"}"
        );
        assert_eq!(query_for("{{environment}}", "a\"b\\"), "\"a\\\"b\\\\\"");
        assert_eq!(query_for("up", "staging"), "up");
    }

    #[test]
    fn a_source_that_cannot_tell_is_refused_before_production() {
        let reads = |q: &'static str, sample: Option<&'static str>, shared, own_server| Reads {
            server: "app",
            queries: [Some(q), sample],
            shared,
            own_server,
        };
        let plain = reads("sum(up)", None, false, false);
        let why = cannot_tell(&plain, "staging", "production").unwrap();
        assert!(
            why.contains("cannot tell staging's metrics from production's"),
            "{why}"
        );
        assert!(
            why.contains("[prometheus.app.environments.staging]"),
            "{why}"
        );
        assert_eq!(cannot_tell(&plain, "production", "production"), None);
        let named = reads("sum(up{environment={{environment}}})", None, false, false);
        assert_eq!(cannot_tell(&named, "staging", "production"), None);
        // The sample must name it too: a sample of production's traffic
        // would let staging's value count.
        let half = reads(
            "sum(up{e={{environment}}})",
            Some("sum(rate(x[5m]))"),
            false,
            false,
        );
        assert!(cannot_tell(&half, "staging", "production").is_some());
        assert_eq!(
            cannot_tell(&reads("up", None, false, true), "staging", "production"),
            None
        );
        assert_eq!(
            cannot_tell(&reads("up", None, true, false), "dev", "production"),
            None
        );
    }
}
