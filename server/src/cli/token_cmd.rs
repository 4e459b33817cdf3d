//! `rollout-console token …`: API tokens, from the command line.
use app::access::Scope;
use clap::Subcommand;

use super::CliError;
use crate::auth::tokens;
use crate::db::Store;
use crate::format_ms;
use crate::plans::acting::Acting;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret, once.
    Create {
        /// What uses it, e.g. "deploy pipeline".
        #[arg(long)]
        name: String,
        /// audit:read, plans:read, plans:write or flags:read; repeat for several.
        #[arg(long = "scope", required = true, value_parser = Scope::parse)]
        scopes: Vec<Scope>,
        /// The one environment a token with flags:read evaluates in.
        #[arg(long)]
        environment: Option<String>,
        /// The user the token acts for (required with plans:write): its
        /// changes are theirs, and they cannot approve them.
        #[arg(long)]
        owner: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id; it stops working at once.
    Revoke { id: String },
}

pub async fn run(store: Store, environments: &[String], cmd: TokenCommand) -> Result<(), CliError> {
    let Acting { actor, client } = Acting::cli();
    match cmd {
        TokenCommand::Create {
            name,
            scopes,
            environment,
            owner,
        } => {
            let environment = environment.as_deref();
            let created = tokens::create_for(
                &store,
                &actor,
                &client,
                owner.as_deref(),
                &name,
                &scopes,
                environment,
                environments,
            )
            .await?;
            println!(
                "created token {} ({})",
                created.token.id, created.token.name
            );
            println!("secret (shown once): {}", created.secret);
        }
        TokenCommand::List => {
            println!(
                "{:<32} {:<24} {:<34} {:<20} STATUS",
                "ID", "NAME", "SCOPES", "LAST USED"
            );
            for t in tokens::list(&store).await? {
                println!(
                    "{:<32} {:<24} {:<34} {:<20} {}",
                    t.id,
                    t.name,
                    t.scopes
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    t.last_used_at_ms.map_or("never".to_string(), format_ms),
                    if t.revoked_at_ms.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let t = tokens::revoke(&store, &actor, &client, &id).await?;
            println!("revoked token {} ({})", t.id, t.name);
        }
    }
    Ok(())
}
