//! Seed 004's finance tables on the demo target: `organizations`, the legacy
//! `revenue_transactions` and `expense_transactions`, their partitioned
//! copies (`…_partitioned`, hash-partitioned by organisation on PostgreSQL)
//! filled as the seed's migration leaves them, and the dual-write triggers
//! (`revenue_transactions_dual_write_trigger`, …) that keep them in step.
use app::dto::StoreBackend;
use sqlx::{Any, Executor, Transaction};

use super::over_series;
use crate::backfill::error::BackfillError;

pub const TABLES: [&str; 2] = ["revenue_transactions", "expense_transactions"];

fn columns(table: &str, key: &str) -> String {
    format!(
        "CREATE TABLE {table} (id BIGINT NOT NULL, org_id BIGINT NOT NULL, amount_cents BIGINT NOT NULL, \
         description TEXT NOT NULL, created_at BIGINT NOT NULL, {key})"
    )
}

fn schema(backend: StoreBackend, table: &str) -> Vec<String> {
    let legacy = columns(table, "PRIMARY KEY (id)");
    let part = format!("{table}_partitioned");
    let mut out = vec![legacy];
    let upsert = format!(
        "INSERT INTO {part} (id, org_id, amount_cents, description, created_at) \
         VALUES (NEW.id, NEW.org_id, NEW.amount_cents, NEW.description, NEW.created_at) \
         ON CONFLICT (id, org_id) DO UPDATE SET amount_cents = excluded.amount_cents, \
         description = excluded.description, created_at = excluded.created_at"
    );
    match backend {
        StoreBackend::Postgres => {
            out.push(columns(&part, "PRIMARY KEY (id, org_id)") + " PARTITION BY HASH (org_id)");
            for r in 0..4 {
                out.push(format!(
                    "CREATE TABLE {part}_p{r} PARTITION OF {part} FOR VALUES WITH (MODULUS 4, REMAINDER {r})"
                ));
            }
            out.push(format!(
                "CREATE FUNCTION {table}_dual_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF TG_OP = 'DELETE' THEN DELETE FROM {part} WHERE id = OLD.id AND org_id = OLD.org_id; RETURN OLD; END IF; \
                 {upsert}; RETURN NEW; END $$"
            ));
            out.push(format!(
                "CREATE TRIGGER {table}_dual_write_trigger AFTER INSERT OR UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {table}_dual_write()"
            ));
        }
        StoreBackend::Sqlite => {
            out.push(columns(&part, "PRIMARY KEY (id, org_id)"));
            for (event, name) in [("INSERT", "trigger"), ("UPDATE", "update_trigger")] {
                out.push(format!(
                    "CREATE TRIGGER {table}_dual_write_{name} AFTER {event} ON {table} BEGIN {upsert}; END"
                ));
            }
            out.push(format!(
                "CREATE TRIGGER {table}_dual_write_delete_trigger AFTER DELETE ON {table} BEGIN \
                 DELETE FROM {part} WHERE id = OLD.id AND org_id = OLD.org_id; END"
            ));
        }
    }
    out
}

async fn drop_all(
    tx: &mut Transaction<'static, Any>,
    backend: StoreBackend,
) -> Result<(), BackfillError> {
    for table in TABLES {
        if backend == StoreBackend::Postgres {
            tx.execute(format!("DROP TABLE IF EXISTS {table}_partitioned CASCADE").as_str())
                .await?;
            tx.execute(format!("DROP TABLE IF EXISTS {table} CASCADE").as_str())
                .await?;
            tx.execute(format!("DROP FUNCTION IF EXISTS {table}_dual_write() CASCADE").as_str())
                .await?;
        } else {
            tx.execute(format!("DROP TABLE IF EXISTS {table}_partitioned").as_str())
                .await?;
            tx.execute(format!("DROP TABLE IF EXISTS {table}").as_str())
                .await?;
        }
    }
    tx.execute("DROP TABLE IF EXISTS organizations").await?;
    Ok(())
}

/// How many organisations and transactions per table a demo of `rows`
/// projects holds: `rows / 100` (at least 20) and `rows / 2`.
pub fn sizes(rows: i64) -> (i64, i64) {
    ((rows / 100).max(20), (rows / 2).max(1))
}

/// `sizes(rows)` organisations and transactions; the partitioned copies
/// filled, then the triggers installed.
pub async fn seed(
    tx: &mut Transaction<'static, Any>,
    backend: StoreBackend,
    rows: i64,
) -> Result<(), BackfillError> {
    drop_all(tx, backend).await?;
    let (orgs, per_table) = sizes(rows);
    tx.execute(
        "CREATE TABLE organizations (id BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         transaction_count BIGINT NOT NULL, created_at BIGINT NOT NULL)",
    )
    .await?;
    let fill = over_series(
        backend,
        "INSERT INTO organizations",
        "i, 'Organisation ' || i, (i * 37) % 5000, 1700000000000 + i * 60000",
    );
    sqlx::query(&fill).bind(orgs).execute(&mut **tx).await?;
    for (k, table) in TABLES.iter().enumerate() {
        let mut statements = schema(backend, table);
        // The triggers go in last: the copy below is the seed's migration.
        let triggers = statements.split_off(
            statements.len()
                - if backend == StoreBackend::Postgres {
                    2
                } else {
                    3
                },
        );
        for s in &statements {
            tx.execute(s.as_str()).await?;
        }
        let fill = over_series(
            backend,
            &format!("INSERT INTO {table}"),
            &format!(
                "i, 1 + (i * {}) % {orgs}, 100 + (i * 7919) % 90000, '{} ' || i, 1700000000000 + i * 1000",
                k + 3,
                if k == 0 { "revenue" } else { "expense" }
            ),
        );
        sqlx::query(&fill)
            .bind(per_table)
            .execute(&mut **tx)
            .await?;
        tx.execute(format!("INSERT INTO {table}_partitioned SELECT * FROM {table}").as_str())
            .await?;
        for s in &triggers {
            tx.execute(s.as_str()).await?;
        }
    }
    Ok(())
}
