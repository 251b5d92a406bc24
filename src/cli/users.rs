//! `user add`, `user token` and `user totp`.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use hotline::app::Stores;
use hotline::config::Settings;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add an account. The password is read from HOTLINE_USER_PASSWORD, or else from the first
    /// line of standard input.
    Add {
        username: String,
        /// The name shown in the console and on notes.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A lawyer account's roster id (hotline roster list).
        #[arg(long)]
        lawyer: Option<String>,
        /// A supervisor's prefecture code (e.g. 610100).
        #[arg(long)]
        region: Option<String>,
    },
    /// Print a new API token for the account (shown once; only its hash is stored).
    Token {
        username: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Turn on the second factor (TOTP) for the account: prints the secret and an otpauth://
    /// link for the person's authenticator app; from then on signing in needs its code. A new
    /// secret replaces the old one.
    Totp {
        username: String,
        /// Turn the second factor off instead.
        #[arg(long)]
        off: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Lawyer,
    Supervisor,
    Admin,
}

pub async fn run(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    use hotline::auth::accounts::{self, Account};
    use hotline::domain::Role;
    let state = Stores::open(&settings).context("opening the database and Redis")?;
    state.db.migrate().await.context("running database migrations")?;
    match command {
        UserCommand::Add {
            username,
            name,
            role,
            lawyer,
            region,
        } => {
            let password = match std::env::var("HOTLINE_USER_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!(
                        "password (at least {} characters):",
                        hotline::auth::password::MIN_LENGTH
                    );
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let role = match role {
                RoleArg::Lawyer => Role::Lawyer,
                RoleArg::Supervisor => Role::Supervisor,
                RoleArg::Admin => Role::Admin,
            };
            let user = accounts::add(
                &state.db,
                &Account {
                    username: &username,
                    name: &name,
                    role,
                    password: &password,
                    lawyer_id: lawyer.as_deref(),
                    region: region.as_deref(),
                },
            )
            .await?;
            println!(
                "{}",
                serde_json::json!({"id": user.id, "username": user.username, "role": role.as_str()})
            );
        }
        UserCommand::Token { username, label } => {
            let user = find(&state, &username).await?;
            println!(
                "{}",
                hotline::auth::login::new_token(&state.db, &user.id, &label).await?
            );
        }
        UserCommand::Totp { username, off } => {
            let user = find(&state, &username).await?;
            if off {
                state.db.set_totp(&user.id, None).await?;
                state.db.audit("cli", "totp.off", &user.id).await?;
                println!("{}", serde_json::json!({"username": user.username, "totp": false}));
            } else {
                let e = hotline::auth::totp::enrol(state.db.key(), &user.username);
                state.db.set_totp(&user.id, Some(e.stored)).await?;
                state.db.audit("cli", "totp.on", &user.id).await?;
                println!(
                    "{}",
                    serde_json::json!({"username": user.username, "totp": true, "secret": e.secret, "url": e.url})
                );
            }
        }
    }
    Ok(())
}

async fn find(state: &Stores, username: &str) -> anyhow::Result<hotline::storage::users::User> {
    state
        .db
        .user_by_username(&username.to_ascii_lowercase())
        .await?
        .context("no such user")
}
