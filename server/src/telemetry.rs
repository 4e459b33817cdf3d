//! Tracing set-up: human-readable or JSON lines, filtered by the
//! `log_level` setting (or `RUST_LOG` when set). `serve` logs on stdout;
//! every other command on stderr, so what it prints on stdout (an export,
//! a token's secret) is only its output and can be redirected to a file.
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

pub fn init(config: &Config, to_stdout: bool) {
    if to_stdout {
        init_with(
            config,
            std::io::stdout,
            std::io::IsTerminal::is_terminal(&std::io::stdout()),
        );
    } else {
        init_with(
            config,
            std::io::stderr,
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
        );
    }
}

fn init_with<W>(config: &Config, writer: W, terminal: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(&config.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_writer(writer)
        // Colour codes only for a person at a terminal, never in files or pipes.
        .with_ansi(terminal);
    // `try_init` fails only when a subscriber is already set (tests start
    // several servers in one process); the first one keeps logging.
    let _ = match config.log_format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}
