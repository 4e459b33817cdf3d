//! Parsing and redacting the store's `DATABASE_URL`.
use std::path::PathBuf;

use app::dto::StoreBackend;

pub const URL_HINT: &str =
    "use sqlite://PATH (e.g. sqlite://data/console.db) or postgres://USER[:PASSWORD]@HOST[:PORT]/DB";

/// A store location the console can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A SQLite file; created (with its directory) on first start.
    Sqlite { path: PathBuf },
    /// A PostgreSQL database; `url` may hold a password and is never logged.
    Postgres { url: url::Url },
}

impl StoreUrl {
    /// Parses a URL, returning a one-line problem description on failure.
    pub fn parse(raw: &str) -> Result<StoreUrl, String> {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix("sqlite:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("the SQLite URL names no file".into());
            }
            if path == ":memory:" {
                return Err("an in-memory SQLite store would lose everything on restart".into());
            }
            return Ok(StoreUrl::Sqlite {
                path: PathBuf::from(path),
            });
        }
        let url = url::Url::parse(raw)
            .map_err(|e| format!("{:?} is not a URL ({e})", redact_unparsed(raw)))?;
        match url.scheme() {
            "postgres" | "postgresql" => {
                if url.host_str().unwrap_or_default().is_empty() {
                    return Err("the PostgreSQL URL names no host".into());
                }
                Ok(StoreUrl::Postgres { url })
            }
            other => Err(format!("unsupported scheme {other:?}")),
        }
    }

    pub fn backend(&self) -> StoreBackend {
        match self {
            StoreUrl::Sqlite { .. } => StoreBackend::Sqlite,
            StoreUrl::Postgres { .. } => StoreBackend::Postgres,
        }
    }

    /// The location without credentials: safe for logs and the dashboard.
    pub fn redacted(&self) -> String {
        match self {
            StoreUrl::Sqlite { path } => path.display().to_string(),
            StoreUrl::Postgres { url } => {
                let mut shown = url.clone();
                if shown.password().is_some() {
                    let _ = shown.set_password(Some("***"));
                }
                shown.set_query(None);
                shown.to_string()
            }
        }
    }

    /// The URL handed to sqlx.
    pub(crate) fn connect_url(&self) -> String {
        match self {
            StoreUrl::Sqlite { path } => format!("sqlite://{}?mode=rwc", path.display()),
            StoreUrl::Postgres { url } => url.to_string(),
        }
    }
}

/// Hides anything between `://` and `@` in a string that failed to parse.
fn redact_unparsed(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(start), Some(at)) if at > start => format!("{}://***{}", &raw[..start], &raw[at..]),
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_forms() {
        let rel = StoreUrl::parse("sqlite://data/console.db").unwrap();
        assert_eq!(
            rel,
            StoreUrl::Sqlite {
                path: "data/console.db".into()
            }
        );
        assert_eq!(rel.connect_url(), "sqlite://data/console.db?mode=rwc");
        let abs = StoreUrl::parse("sqlite:///var/lib/console.db").unwrap();
        assert_eq!(
            abs,
            StoreUrl::Sqlite {
                path: "/var/lib/console.db".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("sqlite:x.db?mode=rwc").unwrap().redacted(),
            "x.db"
        );
        assert!(StoreUrl::parse("sqlite://")
            .unwrap_err()
            .contains("no file"));
        assert!(StoreUrl::parse("sqlite::memory:").is_err());
    }

    #[test]
    fn postgres_is_redacted() {
        let pg = StoreUrl::parse("postgres://app:s3cret@db:5432/console?sslmode=require").unwrap();
        assert_eq!(pg.backend(), StoreBackend::Postgres);
        assert_eq!(pg.redacted(), "postgres://app:***@db:5432/console");
        assert!(!pg.redacted().contains("s3cret"));
        assert!(StoreUrl::parse("postgresql://u@h/d").is_ok());
    }

    #[test]
    fn refusals_are_specific_and_never_echo_secrets() {
        assert!(StoreUrl::parse("mysql://root@localhost/x")
            .unwrap_err()
            .contains("\"mysql\""));
        let e = StoreUrl::parse("not a url with pw://u:pw@").unwrap_err();
        assert!(!e.contains("pw@"), "{e}");
        assert!(StoreUrl::parse("postgres:///nohost")
            .unwrap_err()
            .contains("no host"));
    }
}
