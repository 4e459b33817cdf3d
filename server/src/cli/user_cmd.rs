//! `rollout-console user …`: people, from the command line. Every change is
//! audited with the operating-system user as the actor.
use std::io::BufRead;

use app::access::Role;
use clap::Subcommand;

use super::CliError;
use crate::auth::{password, users};
use crate::db::Store;
use crate::format_ms;
use crate::plans::acting::Acting;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user with one or more roles; prints a generated password unless
    /// --password-stdin is given.
    Add {
        username: String,
        /// viewer, operator, approver or admin; repeat for several.
        #[arg(long = "role", required = true, value_parser = Role::parse)]
        roles: Vec<Role>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (generated unless --password-stdin); ends the user's sessions.
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: they cannot sign in and their sessions end at once.
    Disable { username: String },
    /// Enable a disabled user again.
    Enable { username: String },
    /// List users, their roles and status.
    List,
}

fn read_password(from_stdin: bool) -> Result<(String, bool), CliError> {
    if !from_stdin {
        return Ok((password::generate(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Runtime(format!("reading the password from stdin failed: {e}")))?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    password::check_policy(&pw).map_err(CliError::Invalid)?;
    Ok((pw, false))
}

pub async fn run(store: Store, cmd: UserCommand) -> Result<(), CliError> {
    let Acting { actor, client } = Acting::cli();
    match cmd {
        UserCommand::Add {
            username,
            roles,
            password_stdin,
        } => {
            let (pw, generated) = read_password(password_stdin)?;
            let user = users::create(&store, &actor, &client, &username, &pw, &roles).await?;
            println!(
                "added {} ({})",
                user.username,
                app::access::Role::join(&user.roles, ", ")
            );
            if generated {
                println!("password (shown once): {pw}");
            }
        }
        UserCommand::Passwd {
            username,
            password_stdin,
        } => {
            let (pw, generated) = read_password(password_stdin)?;
            let user = users::set_password(&store, &actor, &client, &username, &pw).await?;
            println!(
                "password of {} changed; their sessions have ended",
                user.username
            );
            if generated {
                println!("password (shown once): {pw}");
            }
        }
        UserCommand::Disable { username } => {
            let user = users::set_disabled(&store, &actor, &client, &username, true).await?;
            println!("disabled {}; their sessions have ended", user.username);
        }
        UserCommand::Enable { username } => {
            let user = users::set_disabled(&store, &actor, &client, &username, false).await?;
            println!("enabled {}", user.username);
        }
        UserCommand::List => {
            println!(
                "{:<24} {:<34} {:<10} CREATED",
                "USERNAME", "ROLES", "STATUS"
            );
            for u in users::list(&store).await? {
                println!(
                    "{:<24} {:<34} {:<10} {}",
                    u.username,
                    app::access::Role::join(&u.roles, ","),
                    if u.disabled_at_ms.is_some() {
                        "disabled"
                    } else {
                        "active"
                    },
                    format_ms(u.created_at_ms)
                );
            }
        }
    }
    Ok(())
}
