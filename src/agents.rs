//! Agent accounts of the built-in inbox: passwords (argon2id, generated, shown once) and
//! the `destek agents` command.

use crate::config::Config;
use crate::store::agents::Agent;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum AgentsCommand {
    /// Create an agent account and print its generated password (shown only once).
    Add {
        /// The login name: lowercase letters, digits, `.`, `_`, `-`.
        name: String,
        /// The name customers see next to this agent's replies (default: NAME).
        #[arg(long)]
        display: Option<String>,
        /// The inbox's language for this agent: tr, fa or en.
        #[arg(long, default_value = "en")]
        lang: String,
    },
    /// List agent accounts and when each was last seen in the inbox.
    List,
    /// Remove an agent account; their sessions end at once.
    Remove { name: String },
    /// Give an agent a new generated password; their sessions end at once.
    ResetPassword { name: String },
}

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2 passes), a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| format!("salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
}

/// Whether `password` is the one `hash` was made from (constant time in the crate).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash no password matches, verified against when the account does not exist, so a
/// login takes as long either way.
pub fn no_account_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&generate_password()).unwrap_or_default())
}

/// A new password: 20 characters of an alphabet without look-alikes (~117 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes
        .iter()
        .filter(|b| usize::from(**b) < 256 - 256 % ALPHABET.len())
        .take(20)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// Whether a login name is acceptable.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// `destek agents …`.
pub fn command(config: &Config, command: AgentsCommand) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let store = crate::server::open_store(config).await?;
        let inbox = store.inbox();
        let err = |e: crate::store::StoreError| e.to_string();
        match command {
            AgentsCommand::Add {
                name,
                display,
                lang,
            } => {
                if !valid_name(&name) {
                    return Err(format!(
                        "`{name}`: a login name is 1–64 lowercase letters, digits, `.`, `_` or `-`"
                    ));
                }
                let Some(lang) = crate::lang::Lang::parse(&lang) else {
                    return Err(format!("--lang `{lang}`: use tr, fa or en"));
                };
                let display = display
                    .map(|d| d.trim().to_owned())
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| name.clone());
                let password = generate_password();
                let agent = Agent {
                    name: name.clone(),
                    display: display.clone(),
                    lang: lang.code().to_owned(),
                    last_seen: 0,
                };
                if !inbox
                    .add_agent(&agent, &hash_password(&password)?)
                    .await
                    .map_err(err)?
                {
                    return Err(format!("an agent named `{name}` already exists"));
                }
                println!("added agent {name} ({display}, {})", lang.code());
                println!("password: {password}");
                println!("(shown only now; `destek agents reset-password {name}` makes a new one)");
                Ok(ExitCode::SUCCESS)
            }
            AgentsCommand::List => {
                let agents = inbox.agents().await.map_err(err)?;
                if agents.is_empty() {
                    println!("no agents: add one with `destek agents add NAME`");
                }
                for a in agents {
                    let seen = match a.last_seen {
                        0 => "never signed in".to_owned(),
                        ms => jiff::Timestamp::from_millisecond(ms)
                            .map(|t| format!("last seen {t}"))
                            .unwrap_or_default(),
                    };
                    println!("{}\t{}\t{}\t{seen}", a.name, a.display, a.lang);
                }
                Ok(ExitCode::SUCCESS)
            }
            AgentsCommand::Remove { name } => {
                if inbox.remove_agent(&name).await.map_err(err)? {
                    println!("removed agent {name}");
                    Ok(ExitCode::SUCCESS)
                } else {
                    Err(format!("no agent named `{name}`"))
                }
            }
            AgentsCommand::ResetPassword { name } => {
                let password = generate_password();
                if inbox
                    .set_password(&name, &hash_password(&password)?)
                    .await
                    .map_err(err)?
                {
                    println!("new password for {name}: {password}");
                    println!("(shown only now; the agent's sessions have ended)");
                    Ok(ExitCode::SUCCESS)
                } else {
                    Err(format!("no agent named `{name}`"))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let p = generate_password();
        assert_eq!(p.chars().count(), 20);
        assert_ne!(p, generate_password());
        let h = hash_password(&p).expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&p, &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password(&p, no_account_hash()));
        assert!(no_account_hash().starts_with("$argon2id$"));
        assert!(!verify_password(&p, "not a hash"));
    }

    #[test]
    fn login_names() {
        assert!(valid_name("ayse.k"));
        assert!(!valid_name("Ayşe"));
        assert!(!valid_name(""));
    }
}
