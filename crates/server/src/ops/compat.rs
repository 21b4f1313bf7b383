//! Starting a compat session: what the legacy Matrix login
//! (`POST /_matrix/client/v3/login`, with a password or an SSO login token)
//! and `mxauth manage issue-compatibility-token` both do once they know who
//! the user is. The device must already exist on the homeserver
//! ([`super::devices::ensure`], before the transaction opens): Synapse
//! refuses tokens of devices it does not know.

use std::net::IpAddr;

use chrono::Duration;
use mxauth_model::{compat::CompatSession, User};
use mxauth_storage::{Repository, StorageError};
use ulid::Ulid;

use super::{tokens::CompatPair, Context};

/// A device id the homeserver accepts: 1 to 255 printable ASCII characters
/// (Synapse stores it as text and compares it byte for byte; the C-S API
/// gives no syntax, so this is the widest that is safe in logs and URLs).
pub fn valid_device_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.chars().all(|c| c.is_ascii_graphic())
}

/// What the new session is.
#[derive(Debug, Default)]
pub struct NewCompatSession<'a> {
    pub device_id: &'a str,
    /// The device's display name (`initial_device_display_name`).
    pub display_name: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The client's address: the session's first "last active" IP.
    pub ip: Option<IpAddr>,
    /// The browser session an SSO login came from.
    pub browser_session_id: Option<Ulid>,
    /// Whether the session's tokens carry `urn:synapse:admin:*`.
    pub is_synapse_admin: bool,
    /// `Some(compat_token_ttl)` when the client asked for a refresh token:
    /// the access token then expires after that long. Without one it never
    /// expires, as Synapse's did.
    pub refresh_ttl: Option<Duration>,
}

/// The stored session and its raw tokens, for the caller to hand out.
pub struct Started {
    pub session: CompatSession,
    pub tokens: CompatPair,
}

/// Starts a compat session of `user` on `new.device_id` in the caller's
/// transaction: earlier sessions on the same device end (a bot or bridge
/// that logs in again with its device keeps the device and its keys on the
/// homeserver, so no device sync is queued), then the session and its
/// tokens are stored (as digests).
pub async fn start(
    repo: &mut Repository,
    ctx: Context<'_>,
    user: &User,
    new: &NewCompatSession<'_>,
) -> Result<Started, StorageError> {
    let now = ctx.now();
    for old in repo
        .compat_sessions()
        .active(user, Some(new.device_id))
        .await?
    {
        repo.compat_sessions().finish(old.id, now).await?;
    }
    let session = CompatSession {
        id: ctx.new_id(now),
        user_id: user.id,
        device_id: Some(new.device_id.to_owned()),
        browser_session_id: new.browser_session_id,
        is_synapse_admin: new.is_synapse_admin,
        user_agent: new.user_agent.map(str::to_owned),
        last_active_at: Some(now),
        last_active_ip: new.ip.map(|ip| ip.to_string()),
        human_name: new.display_name.map(str::to_owned),
        created_at: now,
        finished_at: None,
    };
    repo.compat_sessions().add(&session).await?;
    let tokens = super::tokens::compat_pair(repo, ctx, session.id, new.refresh_ttl).await?;
    Ok(Started { session, tokens })
}

#[cfg(test)]
mod tests {
    use super::valid_device_id;

    #[test]
    fn device_ids_are_printable_ascii_up_to_255() {
        assert!(valid_device_id("ABCDEFGHIJ"));
        assert!(valid_device_id("x"));
        assert!(valid_device_id(&"d".repeat(255)));
        for bad in ["", "has space", "tab\t", "é", &"d".repeat(256)] {
            assert!(!valid_device_id(bad), "{bad:?}");
        }
    }
}
