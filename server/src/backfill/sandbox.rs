//! Plan SQL in a box. Every SQL field of a plan is the plan author's code and
//! runs only on the target its job names: exactly one statement, of the kind
//! its field allows (a query where it only reads; INSERT, UPDATE or DELETE
//! where it writes), with no transaction control, ATTACH, PRAGMA or DDL, and
//! calling only the side-effect-free built-ins of `sql_functions` — in the
//! select list, `FROM` (table functions, `LATERAL`), subqueries, CTEs,
//! `VALUES` and casts alike: every expression and table factor of the
//! statement is walked. Checked with a real SQL parser when a
//! plan is validated, again with the target's dialect before a run, and on
//! SQLite targets by SQLite itself: the statement is prepared under an
//! authorizer that refuses everything else (`engine_check_sqlite`).
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Mutex};

use app::dto::StoreBackend;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use sqlparser::ast::{
    BinaryOperator, Expr, ObjectName, Select, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use super::sql_functions::{self, Dialect as Functions};
use crate::problems::bounded;

/// What a SQL field may do on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// `select`, `filter`, `verify_*`: a query, run read-only.
    Read,
    /// `apply`, `undo`: one INSERT, UPDATE or DELETE (a WITH in front allowed).
    Write,
}

impl Access {
    fn expected(self) -> &'static str {
        match self {
            Access::Read => "a query (SELECT or WITH … SELECT) that only reads",
            Access::Write => "one INSERT, UPDATE or DELETE",
        }
    }
}

/// Why a statement is refused. A statement that parsed but has the wrong
/// shape is a better report than another dialect's parse error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    Parse(String),
    Shape(String),
}

impl Refusal {
    fn message(self) -> String {
        match self {
            Refusal::Parse(m) | Refusal::Shape(m) => m,
        }
    }
}

/// Checks `sql` for a target of `backend`.
pub fn check(sql: &str, access: Access, backend: StoreBackend) -> Result<(), String> {
    check_in(sql, access, backend).map_err(Refusal::message)
}

/// Checks `sql` when the target's backend is not known (validating a plan
/// file offline): it must pass for PostgreSQL or for SQLite; the run checks
/// it again for the target it really has.
pub fn check_any(sql: &str, access: Access) -> Result<(), String> {
    let pg = match check_in(sql, access, StoreBackend::Postgres) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let lite = match check_in(sql, access, StoreBackend::Sqlite) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    Err(match (pg, lite) {
        (Refusal::Shape(m), _) | (_, Refusal::Shape(m)) => m,
        (Refusal::Parse(m), _) => m,
    })
}

fn check_in(sql: &str, access: Access, backend: StoreBackend) -> Result<(), Refusal> {
    let (dialect, name, functions): (&dyn Dialect, &str, Functions) = match backend {
        StoreBackend::Postgres => (&PostgreSqlDialect {}, "PostgreSQL", Functions::Postgres),
        StoreBackend::Sqlite => (&SQLiteDialect {}, "SQLite", Functions::Sqlite),
    };
    let statements = Parser::parse_sql(dialect, sql).map_err(|e| {
        Refusal::Parse(format!(
            "does not parse as {name} SQL: {}",
            bounded(&e.to_string())
        ))
    })?;
    let statement = match statements.as_slice() {
        [] => return Err(Refusal::Shape("is empty: give one SQL statement".into())),
        [one] => one,
        more => {
            return Err(Refusal::Shape(format!(
                "holds {} statements; a SQL field holds exactly one (remove the ';' and what follows the first statement)",
                more.len()
            )))
        }
    };
    if !top_level_allowed(statement, access) {
        return Err(Refusal::Shape(format!(
            "is {}; here it must be {}",
            describe(statement),
            access.expected()
        )));
    }
    let mut guard = Guard {
        access,
        functions,
        statements: 0,
    };
    match statement.visit(&mut guard) {
        ControlFlow::Break(problem) => Err(Refusal::Shape(problem)),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn top_level_allowed(statement: &Statement, access: Access) -> bool {
    let writes = |body: &SetExpr| {
        matches!(
            body,
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_)
        )
    };
    match (access, statement) {
        (Access::Read, Statement::Query(q)) => !writes(&q.body),
        // WITH … INSERT, or the console's own `WITH created AS (apply)
        // SELECT …` around a PostgreSQL apply: one statement either way.
        (Access::Write, Statement::Query(_)) => true,
        (Access::Write, Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_)) => true,
        _ => false,
    }
}

/// What a refused statement is, in words an author recognises.
fn describe(statement: &Statement) -> String {
    match statement {
        Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::StartTransaction { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. } => {
            "transaction control, which would end the transaction the console runs it in".into()
        }
        Statement::AttachDatabase { .. }
        | Statement::AttachDuckDBDatabase { .. }
        | Statement::DetachDuckDBDatabase { .. } => {
            "ATTACH/DETACH, which opens a database other than the target".into()
        }
        Statement::Pragma { .. } => {
            "a PRAGMA, which changes how the target's connection works".into()
        }
        Statement::Set(_) => "SET, which changes the session's settings".into(),
        other => {
            let text = other.to_string();
            let word = text.split_whitespace().next().unwrap_or("").to_uppercase();
            match statement {
                Statement::Query(_) => "a query".into(),
                Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
                    format!("{word}, which writes")
                }
                _ => format!("a {word} statement"),
            }
        }
    }
}

struct Guard {
    access: Access,
    functions: Functions,
    statements: usize,
}

impl Guard {
    /// Refuses a call of `name` unless it is on the dialect's list. On
    /// PostgreSQL a quoted name keeps its case, so `"NOW"` is somebody's own.
    fn call(&self, name: &ObjectName) -> ControlFlow<String> {
        let mut parts = Vec::new();
        for part in &name.0 {
            let Some(ident) = part.as_ident() else {
                return self.refuse(name);
            };
            if self.functions == Functions::Postgres
                && ident.quote_style.is_some()
                && ident.value != ident.value.to_lowercase()
            {
                return self.refuse(name);
            }
            parts.push(ident.value.clone());
        }
        if sql_functions::allowed(self.functions, &parts) {
            ControlFlow::Continue(())
        } else {
            self.refuse(name)
        }
    }

    fn refuse(&self, name: &ObjectName) -> ControlFlow<String> {
        ControlFlow::Break(format!(
            "calls {}(), which is not one of the side-effect-free built-in functions plan SQL may call \
             (docs/plan-format.md lists them; files, settings, sequences, locks, sleeps, other sessions and \
             extensions stay out of reach)",
            bounded(&name.to_string())
        ))
    }
}

impl Visitor for Guard {
    type Break = String;

    fn pre_visit_statement(&mut self, _: &Statement) -> ControlFlow<String> {
        self.statements += 1;
        if self.statements > 1 && self.access == Access::Read {
            return ControlFlow::Break(
                "writes (INSERT, UPDATE or DELETE inside the query); here it must only read".into(),
            );
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<String> {
        if select.into.is_some() {
            return ControlFlow::Break("uses SELECT … INTO, which creates a table".into());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        match expr {
            Expr::Function(f) => self.call(&f.name),
            Expr::BinaryOp {
                op: BinaryOperator::PGCustomBinaryOperator(parts),
                ..
            } => ControlFlow::Break(format!(
                "uses the operator OPERATOR({}), which may run somebody's own function",
                bounded(&parts.join("."))
            )),
            _ => ControlFlow::Continue(()),
        }
    }

    /// `FROM f(…)`, `LATERAL f(…)`: a function call too.
    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        match factor {
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => self.call(name),
            _ => ControlFlow::Continue(()),
        }
    }
}

/// SQLite's own verdict: the statement is prepared (never run) on a
/// connection to the target under an authorizer that allows reading tables,
/// calling harmless functions and, for `Write`, inserting, updating and
/// deleting rows; anything else (ATTACH, PRAGMA, transactions, DDL,
/// load_extension) makes the prepare fail. A second statement, or a `Read`
/// statement SQLite does not call read-only, is refused too.
pub fn engine_check_sqlite(path: &Path, sql: &str, access: Access) -> Result<(), String> {
    use rusqlite::{Batch, Connection, OpenFlags};
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {} to check the statement: {e}", path.display()))?;
    let refused: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = refused.clone();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        let problem = match ctx.action {
            AuthAction::Read { .. } | AuthAction::Select | AuthAction::Recursive => None,
            AuthAction::Function { function_name }
                if sql_functions::allowed(Functions::Sqlite, &[function_name.to_string()]) =>
            {
                None
            }
            AuthAction::Function { function_name } => Some(format!("calls {function_name}()")),
            AuthAction::Insert { .. } | AuthAction::Update { .. } | AuthAction::Delete { .. }
                if access == Access::Write =>
            {
                None
            }
            AuthAction::Insert { table_name }
            | AuthAction::Update { table_name, .. }
            | AuthAction::Delete { table_name } => Some(format!("writes to {table_name}")),
            AuthAction::Attach { .. } | AuthAction::Detach { .. } => {
                Some("attaches or detaches a database".into())
            }
            AuthAction::Pragma { pragma_name, .. } => Some(format!("runs PRAGMA {pragma_name}")),
            AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
                Some("controls the transaction".into())
            }
            other => Some(format!("does something plan SQL may not ({other:?})")),
        };
        match problem {
            None => Authorization::Allow,
            Some(p) => {
                seen.lock().unwrap().get_or_insert(p);
                Authorization::Deny
            }
        }
    }));
    let mut batch = Batch::new(&conn, sql);
    let mut count = 0;
    loop {
        match batch.next() {
            Ok(Some(statement)) => {
                count += 1;
                if count > 1 {
                    return Err("holds more than one statement (SQLite sees a second one)".into());
                }
                if access == Access::Read && !statement.readonly() {
                    return Err("is not read-only for SQLite; here it must only read".into());
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Err(match refused.lock().unwrap().take() {
                    Some(p) => format!("is refused by SQLite: it {p}"),
                    None => format!("does not prepare on SQLite: {}", bounded(&e.to_string())),
                })
            }
        }
    }
    if count == 0 {
        return Err("is empty: give one SQL statement".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str, access: Access) -> String {
        check_any(sql, access).expect_err(sql)
    }

    #[test]
    fn one_statement_of_the_fields_kind() {
        let apply = "INSERT INTO n (id) SELECT id FROM o WHERE id > $1 AND id <= $2 ON CONFLICT DO NOTHING RETURNING id";
        assert_eq!(check_any(apply, Access::Write), Ok(()));
        assert_eq!(
            check_any("SELECT COUNT(*) FROM o WHERE a = 'x'", Access::Read),
            Ok(())
        );
        assert_eq!(
            check(
                "INSERT OR IGNORE INTO n SELECT * FROM o WHERE id > $1 AND id <= $2 RETURNING id",
                Access::Write,
                StoreBackend::Sqlite
            ),
            Ok(())
        );
        assert!(refused(&format!("COMMIT; {apply}"), Access::Write).contains("holds 2 statements"));
        assert!(refused("COMMIT", Access::Write).contains("transaction control"));
        assert!(refused("ATTACH DATABASE '/tmp/x.db' AS x", Access::Write).contains("ATTACH"));
        assert!(refused("PRAGMA writable_schema = 1", Access::Write).contains("PRAGMA"));
        assert!(refused("DROP TABLE o", Access::Write).contains("DROP"));
        assert!(refused("DELETE FROM o", Access::Read).contains("must be a query"));
        assert!(refused("", Access::Read).contains("empty"));
    }

    #[test]
    fn reads_may_not_write_and_nothing_calls_out() {
        let cte = "WITH d AS (DELETE FROM o RETURNING id) SELECT COUNT(*) FROM d";
        assert!(
            refused(cte, Access::Read).contains("writes"),
            "{}",
            refused(cte, Access::Read)
        );
        assert!(refused("SELECT id INTO copy FROM o", Access::Read).contains("INTO"));
        let ext = "INSERT INTO n SELECT load_extension('/tmp/evil.so') FROM o WHERE id > $1 AND id <= $2 RETURNING id";
        assert!(refused(ext, Access::Write).contains("load_extension()"));
        assert!(
            refused("SELECT pg_read_file('/etc/passwd')", Access::Read).contains("pg_read_file()")
        );
        assert!(refused(
            "SELECT set_config('default_transaction_read_only', 'off', false)",
            Access::Read
        )
        .contains("set_config()"));
    }

    /// The dangerous families of each dialect, written every way a call can
    /// hide: the select list, `FROM`, `LATERAL`, a subquery, a CTE, `VALUES`,
    /// a cast, a schema-qualified name. Each is refused with its name.
    #[test]
    fn no_function_outside_the_list_is_reachable_anywhere() {
        let postgres = [
            "pg_sleep(1)",
            "pg_sleep_for('1 s')",
            "set_config('default_transaction_read_only', 'off', false)",
            "current_setting('data_directory')",
            "pg_read_file('/etc/passwd')",
            "pg_read_binary_file('/etc/passwd')",
            "pg_ls_dir('.')",
            "pg_stat_file('x')",
            "lo_import('/etc/passwd')",
            "lo_export(1, '/tmp/x')",
            "lo_from_bytea(0, 'x')",
            "lo_get(1)",
            "dblink('host=x', 'select 1')",
            "dblink_exec('host=x', 'delete from t')",
            "pg_terminate_backend(1)",
            "pg_cancel_backend(1)",
            "pg_reload_conf()",
            "nextval('s')",
            "setval('s', 1)",
            "currval('s')",
            "pg_advisory_lock(1)",
            "pg_try_advisory_xact_lock(1)",
            "query_to_xml('select 1', true, true, '')",
            "pg_logical_emit_message(true, 'x', 'y')",
            "txid_current()",
            "my_own_function(1)",
            "public.count(1)",
            "\"NOW\"()",
        ];
        for call in postgres {
            let name = call.split('(').next().unwrap().trim_matches('"');
            for sql in [
                format!("SELECT {call}"),
                format!("SELECT * FROM {call}"),
                format!("SELECT * FROM o, LATERAL {call} AS f"),
                format!("SELECT (SELECT {call}) FROM o"),
                format!("SELECT COUNT(*) FROM o WHERE id IN (SELECT {call})"),
                format!("WITH c AS (SELECT {call} AS x) SELECT x FROM c"),
                format!("WITH c AS (SELECT * FROM {call} AS x) SELECT 1 FROM c"),
                format!("SELECT * FROM (VALUES ({call})) AS v(x)"),
                format!("SELECT CAST({call} AS text)"),
                format!("SELECT COALESCE(NULL, {call})"),
            ] {
                let e = check(&sql, Access::Read, StoreBackend::Postgres).expect_err(&sql);
                assert!(
                    e.contains("calls") && e.to_lowercase().contains(&name.to_lowercase()),
                    "{sql}: {e}"
                );
            }
            let apply = format!(
                "INSERT INTO n (id) SELECT id FROM o, LATERAL {call} AS f WHERE id > $1 AND id <= $2 RETURNING id"
            );
            assert!(
                check(&apply, Access::Write, StoreBackend::Postgres).is_err(),
                "{apply}"
            );
        }
        assert!(check(
            "SELECT 1 FROM o WHERE a OPERATOR(public.===) b",
            Access::Read,
            StoreBackend::Postgres
        )
        .is_err());
        let sqlite = [
            "load_extension('/tmp/evil.so')",
            "readfile('/etc/passwd')",
            "writefile('/tmp/x', 'y')",
            "edit('x')",
            "fts3_tokenizer('simple')",
            "randomblob(900000000)",
            "zeroblob(900000000)",
            "printf('%.*c', 900000000, 'x')",
            "sqlite_compileoption_get(1)",
            "pragma_table_info('o')",
            "my_own_function(1)",
        ];
        for call in sqlite {
            let name = call.split('(').next().unwrap();
            for sql in [
                format!("SELECT {call}"),
                format!("SELECT * FROM {call}"),
                format!("SELECT (SELECT {call}) FROM o"),
                format!("WITH c AS (SELECT {call} AS x) SELECT x FROM c"),
                format!("SELECT * FROM (VALUES ({call})) AS v"),
            ] {
                let e = check(&sql, Access::Read, StoreBackend::Sqlite).expect_err(&sql);
                assert!(e.contains(name), "{sql}: {e}");
            }
        }
        // And what plan SQL really uses still passes.
        for sql in [
            "SELECT COUNT(*) FROM o WHERE created_at > NOW() - INTERVAL '1 day'",
            "SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) FROM r",
            "SELECT date_trunc('hour', at), COALESCE(SUM(n), 0) FROM r GROUP BY 1",
            "SELECT x FROM o, LATERAL unnest(o.tags) AS x",
            "SELECT pg_catalog.now()",
            "SELECT EXTRACT(EPOCH FROM NOW())::bigint",
        ] {
            assert_eq!(
                check(sql, Access::Read, StoreBackend::Postgres),
                Ok(()),
                "{sql}"
            );
        }
        for sql in [
            "SELECT COUNT(*), MAX(id), ROUND(AVG(v), 2) FROM o WHERE name LIKE 'a%'",
            "SELECT json_extract(doc, '$.a') FROM o",
            "SELECT value FROM o, json_each(o.doc)",
        ] {
            assert_eq!(
                check(sql, Access::Read, StoreBackend::Sqlite),
                Ok(()),
                "{sql}"
            );
        }
    }

    #[test]
    fn parse_errors_are_short() {
        let long = format!("SELEC {}", "x ".repeat(500));
        let m = refused(&long, Access::Read);
        assert!(m.starts_with("does not parse as PostgreSQL SQL"), "{m}");
        assert!(m.chars().count() < 260, "{m}");
    }

    #[test]
    fn sqlite_itself_refuses_what_leaves_the_box() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE o (id INTEGER PRIMARY KEY); CREATE TABLE n (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
        let ok = "INSERT INTO n SELECT id FROM o WHERE id > ?1 RETURNING id";
        assert_eq!(engine_check_sqlite(&path, ok, Access::Write), Ok(()));
        assert_eq!(
            engine_check_sqlite(&path, "SELECT COUNT(*) FROM o", Access::Read),
            Ok(())
        );
        for (sql, access, expect) in [
            ("COMMIT", Access::Write, "controls the transaction"),
            (
                "ATTACH DATABASE 'other.db' AS other",
                Access::Write,
                "attaches",
            ),
            ("PRAGMA journal_mode = DELETE", Access::Write, "PRAGMA"),
            ("SELECT load_extension('x')", Access::Read, "load_extension"),
            ("DELETE FROM o", Access::Read, "writes to o"),
            ("SELECT 1; SELECT 2", Access::Read, "more than one"),
            ("/* nothing */", Access::Read, "empty"),
        ] {
            let e = engine_check_sqlite(&path, sql, access).expect_err(sql);
            assert!(e.contains(expect), "{sql}: {e}");
        }
        assert!(
            !dir.path().join("other.db").exists(),
            "ATTACH created no file"
        );
    }
}
