//! Benchmark fixture: appends N realistic events to a console store's audit
//! trail in bulk, with a valid hash chain (the same `chain` functions the
//! console uses), for `scripts/bench-audit`.
//!
//!     cargo run --release -p server --example seed_audit -- DATABASE_URL N
use app::dto::audit::AuditEvent;
use serde_json::json;
use server::audit::chain::{canonical, EventRef};
use server::db::{Store, StoreUrl};

const ROWS_PER_INSERT: usize = 500;
const ACTIONS: [&str; 10] = [
    "auth.login",
    "auth.logout",
    "plan.create",
    "plan.phase_start",
    "plan.checklist_tick",
    "plan.approve",
    "flag.exposure_set",
    "backfill.chunk",
    "backfill.pause",
    "token.create",
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: seed_audit DATABASE_URL N")?;
    let n: i64 = args
        .next()
        .ok_or("usage: seed_audit DATABASE_URL N")?
        .parse()?;
    let store = Store::connect(&StoreUrl::parse(&url)?).await?;
    store.migrate().await?;
    let (mut seq, mut prev): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(store.pool())
            .await?;
    let start_ms: i64 = 1_764_000_000_000;
    let started = std::time::Instant::now();
    let target = seq + n;
    while seq < target {
        let batch = ((target - seq) as usize).min(ROWS_PER_INSERT * 20);
        let mut tx = store.begin_write().await?;
        let mut rows = Vec::with_capacity(batch);
        for _ in 0..batch {
            seq += 1;
            let user = format!("user-{:02}", seq % 50);
            let action = ACTIONS[(seq % ACTIONS.len() as i64) as usize];
            let mut event = AuditEvent {
                seq,
                // One event every ~30 s, so 1M events span about a year.
                at_ms: start_ms + seq * 30_000,
                actor_kind: "user".into(),
                actor_id: format!("id-{:02}", seq % 50),
                actor_name: user,
                action: action.into(),
                subject: format!("plan:{}", seq % 100),
                details: canonical(
                    &json!({ "phase": seq % 8, "basis_points": (seq * 37) % 10_000, "note": "seeded for the benchmark" }),
                ),
                client_addr: format!("10.0.{}.{}", seq % 7, seq % 200),
                user_agent: "Mozilla/5.0 (X11; Linux x86_64) bench".into(),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            event.hash = EventRef::from(&event).hash(&prev);
            prev = event.hash.clone();
            rows.push(event);
        }
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO audit_events (seq, at_ms, actor_kind, actor_id, actor_name, action, subject, details, client_addr, user_agent, prev_hash, hash) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 12;
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                sql.push_str(
                    &(1..=12)
                        .map(|k| format!("${}", b + k))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                sql.push(')');
            }
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(e.seq)
                    .bind(e.at_ms)
                    .bind(e.actor_kind.clone())
                    .bind(e.actor_id.clone())
                    .bind(e.actor_name.clone())
                    .bind(e.action.clone())
                    .bind(e.subject.clone())
                    .bind(e.details.clone())
                    .bind(e.client_addr.clone())
                    .bind(e.user_agent.clone())
                    .bind(e.prev_hash.clone())
                    .bind(e.hash.clone());
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&prev)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    if store.backend() == app::dto::StoreBackend::Postgres {
        // What autovacuum would have done after a million inserts (hint bits,
        // visibility map, statistics): measure the steady state.
        sqlx::query("VACUUM ANALYZE audit_events")
            .execute(store.pool())
            .await?;
    }
    println!(
        "seeded {n} audit events (now through #{seq}) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    Ok(())
}
