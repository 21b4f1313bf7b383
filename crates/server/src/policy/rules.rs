//! The policy data as mxauth acts on it: MAS's keys (`admin_users`,
//! `admin_clients`, `client_registration`, `registration`, `emails`,
//! `requester`), read from the configuration's `policy.data` with the
//! admin-set data merged over it, and the questions the server asks of
//! them. Other top-level keys are free-form (a custom policy of MAS's may
//! read them) and ignored; inside the sections above an unknown key is an
//! error, so a typo does not silently switch a rule off.

use std::{collections::HashSet, net::IpAddr};

use mxauth_config::IpNetwork;
use serde::Deserialize;
use serde_json::Value;

use super::constraint::{ConstraintData, StringConstraint};
use crate::i18n::t;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PolicyDocument {
    admin_users: Vec<String>,
    admin_clients: Vec<String>,
    client_registration: ClientRegistrationRules,
    registration: RegistrationData,
    emails: EmailData,
    requester: RequesterData,
}

/// `client_registration`: what dynamic client registration (MSC2966)
/// lets through beyond its defaults.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientRegistrationRules {
    /// Logo, policy, terms and redirect URIs on other hosts than `client_uri`.
    pub allow_host_mismatch: bool,
    /// Plain `http` where `https` is otherwise required.
    pub allow_insecure_uris: bool,
    /// Clients without a `client_uri` (host rules then have nothing to match).
    pub allow_missing_client_uri: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RegistrationData {
    allowed_usernames: Option<ConstraintData>,
    banned_usernames: Option<ConstraintData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct EmailData {
    allowed_addresses: Option<ConstraintData>,
    banned_addresses: Option<ConstraintData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RequesterData {
    banned_ips: Vec<String>,
    banned_user_agents: Option<ConstraintData>,
}

/// Why the policy refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("this username is not among those allowed here")]
    UsernameNotAllowed,
    #[error("this username is not allowed here")]
    UsernameBanned,
    #[error("this email address is not among those allowed here")]
    EmailNotAllowed,
    #[error("this email address is not allowed here")]
    EmailBanned,
    #[error("requests from this address or client are not allowed")]
    RequesterBanned,
}

impl Violation {
    /// The status of the form shown again: 403 for who is asking, 400 for
    /// what was typed.
    pub fn status(&self) -> axum::http::StatusCode {
        match self {
            Self::RequesterBanned => axum::http::StatusCode::FORBIDDEN,
            _ => axum::http::StatusCode::BAD_REQUEST,
        }
    }

    /// The words of a form, in the page's language.
    pub fn message(&self) -> String {
        match self {
            Self::UsernameNotAllowed => t!("This username is not among those allowed here."),
            Self::UsernameBanned => t!("This username is not allowed here."),
            Self::EmailNotAllowed => t!("This email address is not among those allowed here."),
            Self::EmailBanned => t!("This email address is not allowed here."),
            Self::RequesterBanned => t!("Requests from this address or client are not allowed."),
        }
    }
}

/// The policy in force: the data parsed, its regexes compiled.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    admin_users: HashSet<String>,
    admin_clients: HashSet<String>,
    pub client_registration: ClientRegistrationRules,
    allowed_usernames: Option<StringConstraint>,
    banned_usernames: Option<StringConstraint>,
    allowed_addresses: Option<StringConstraint>,
    banned_addresses: Option<StringConstraint>,
    banned_ips: Vec<IpNetwork>,
    banned_user_agents: Option<StringConstraint>,
}

fn compile(data: Option<ConstraintData>, field: &str) -> Result<Option<StringConstraint>, String> {
    data.map(|d| StringConstraint::compile(d, field))
        .transpose()
}

impl Policy {
    /// The policy of `data` (a JSON object), or what is wrong with it,
    /// naming the key.
    pub fn from_data(data: &Value) -> Result<Self, String> {
        if !data.is_object() {
            return Err("the policy data must be a JSON object".to_owned());
        }
        let document: PolicyDocument =
            serde_path_to_error::deserialize(data).map_err(|e| match e.path().to_string() {
                path if path == "." => e.inner().to_string(),
                path => format!("{path}: {}", e.inner()),
            })?;
        let banned_ips = document
            .requester
            .banned_ips
            .iter()
            .map(|ip| ip.parse().map_err(|e| format!("requester.banned_ips: {e}")))
            .collect::<Result<_, String>>()?;
        Ok(Self {
            admin_users: document.admin_users.into_iter().collect(),
            admin_clients: document.admin_clients.into_iter().collect(),
            client_registration: document.client_registration,
            allowed_usernames: compile(
                document.registration.allowed_usernames,
                "registration.allowed_usernames",
            )?,
            banned_usernames: compile(
                document.registration.banned_usernames,
                "registration.banned_usernames",
            )?,
            allowed_addresses: compile(
                document.emails.allowed_addresses,
                "emails.allowed_addresses",
            )?,
            banned_addresses: compile(document.emails.banned_addresses, "emails.banned_addresses")?,
            banned_ips,
            banned_user_agents: compile(
                document.requester.banned_user_agents,
                "requester.banned_user_agents",
            )?,
        })
    }

    /// Whether `username` may request the admin scopes (`urn:synapse:admin:*`,
    /// `urn:mas:admin`) and use the admin console: the user's
    /// `can_request_admin`, or listed in `admin_users`.
    pub fn may_request_admin(&self, user: &mxauth_model::User) -> bool {
        user.can_request_admin || self.admin_users.contains(&user.username)
    }

    /// Whether `client_id` may get `urn:mas:admin` with `client_credentials`.
    pub fn is_admin_client(&self, client_id: &str) -> bool {
        self.admin_clients.contains(client_id)
    }

    /// A new account's username (self-service and upstream registration;
    /// admins and `mxauth manage` are not bound by it, as in MAS).
    pub fn check_username(&self, username: &str) -> Result<(), Violation> {
        check(
            username,
            &self.allowed_usernames,
            &self.banned_usernames,
            Violation::UsernameNotAllowed,
            Violation::UsernameBanned,
        )
    }

    /// An address someone adds to their account or registers with, matched
    /// in lower case.
    pub fn check_email(&self, email: &str) -> Result<(), Violation> {
        check(
            &email.to_lowercase(),
            &self.allowed_addresses,
            &self.banned_addresses,
            Violation::EmailNotAllowed,
            Violation::EmailBanned,
        )
    }

    /// Who is asking: logins of the legacy API, registrations and
    /// authorization grants are refused from `banned_ips` and
    /// `banned_user_agents`.
    pub fn check_requester(
        &self,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
    ) -> Result<(), Violation> {
        let ip_banned = ip.is_some_and(|ip| self.banned_ips.iter().any(|n| n.contains(ip)));
        let agent_banned = match (user_agent, &self.banned_user_agents) {
            (Some(agent), Some(banned)) => banned.matches(agent),
            _ => false,
        };
        match ip_banned || agent_banned {
            true => Err(Violation::RequesterBanned),
            false => Ok(()),
        }
    }
}

fn check(
    value: &str,
    allowed: &Option<StringConstraint>,
    banned: &Option<StringConstraint>,
    not_allowed: Violation,
    is_banned: Violation,
) -> Result<(), Violation> {
    if allowed.as_ref().is_some_and(|a| !a.matches(value)) {
        return Err(not_allowed);
    }
    if banned.as_ref().is_some_and(|b| b.matches(value)) {
        return Err(is_banned);
    }
    Ok(())
}
