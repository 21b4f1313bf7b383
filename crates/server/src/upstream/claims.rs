//! `claims_imports`: what an upstream account brings to the local one,
//! with MAS's semantics. Each attribute is a Jinja template (minijinja)
//! over `user` (the ID token's claims with the userinfo claims on top),
//! `id_token_claims`, `userinfo_claims` and `extra_callback_parameters`,
//! and an action:
//!
//! - `ignore`: not imported (the default);
//! - `suggest`: offered on the page, where it can be edited or unticked;
//! - `force`: used as is when the provider gives it;
//! - `require`: used as is, and signing in fails without it.
//!
//! A template that renders to nothing means "not given".

use minijinja::{Environment, UndefinedBehavior};
use mxauth_config::ClaimImport;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{provider::Provider, UpstreamError};

/// The variables of every claims template.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClaimsContext {
    pub user: Map<String, Value>,
    pub id_token_claims: Map<String, Value>,
    pub userinfo_claims: Map<String, Value>,
    pub extra_callback_parameters: Map<String, Value>,
}

impl ClaimsContext {
    pub fn new(
        id_token_claims: Map<String, Value>,
        userinfo_claims: Map<String, Value>,
        extra_callback_parameters: Map<String, Value>,
    ) -> Self {
        let mut user = id_token_claims.clone();
        user.extend(userinfo_claims.clone());
        Self {
            user,
            id_token_claims,
            userinfo_claims,
            extra_callback_parameters,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Ignore,
    Suggest,
    Force,
    Require,
}

impl Action {
    fn of(import: Option<&ClaimImport>) -> Self {
        match import.and_then(|i| i.action.as_deref()) {
            Some("suggest") => Self::Suggest,
            Some("force") => Self::Force,
            Some("require") => Self::Require,
            _ => Self::Ignore,
        }
    }

    /// Forced and required values cannot be changed on the page.
    pub fn is_fixed(self) -> bool {
        matches!(self, Self::Force | Self::Require)
    }
}

/// What to do when the imported localpart already belongs to a local user
/// (`localpart.on_conflict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Refuse the sign-in (the default).
    Fail,
    /// Link the upstream account to the existing user.
    Add,
    /// Link it, removing the user's other links to this provider.
    Replace,
    /// Link it only if the user has no link to this provider yet.
    Set,
}

/// One imported attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub value: Option<String>,
    pub action: Action,
}

/// Everything imported from one sign-in.
#[derive(Debug, Clone)]
pub struct Imports {
    pub localpart: Imported,
    pub on_conflict: OnConflict,
    pub displayname: Imported,
    pub email: Imported,
    /// Whether the email counts as verified (`set_email_verification`).
    pub email_verified: bool,
    pub account_name: Option<String>,
    pub skip_confirmation: bool,
}

/// Renders `template`; an empty result is `None`.
fn render(
    template: &str,
    ctx: &ClaimsContext,
    what: &str,
) -> Result<Option<String>, UpstreamError> {
    let mut env = Environment::new();
    // A claim the provider did not send renders as nothing, not an error.
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    let rendered = env.render_str(template, ctx).map_err(|e| {
        UpstreamError::Misconfigured(format!("its claims_imports.{what} template fails: {e}"))
    })?;
    let trimmed = rendered.trim();
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// The subject that identifies the person at the provider:
/// `claims_imports.subject.template`, `{{ user.sub }}` by default.
pub fn subject(provider: &Provider, ctx: &ClaimsContext) -> Result<String, UpstreamError> {
    let template = provider
        .claims_imports()
        .subject
        .as_ref()
        .and_then(|s| s.template.as_deref())
        .unwrap_or("{{ user.sub }}");
    render(template, ctx, "subject")?
        .ok_or_else(|| UpstreamError::Claims("it did not give a subject to identify you by".into()))
}

fn import(
    import: Option<&ClaimImport>,
    default_template: &str,
    ctx: &ClaimsContext,
    what: &str,
) -> Result<Imported, UpstreamError> {
    let action = Action::of(import);
    if action == Action::Ignore {
        return Ok(Imported {
            value: None,
            action,
        });
    }
    let template = import
        .and_then(|i| i.template.as_deref())
        .unwrap_or(default_template);
    let value = render(template, ctx, what)?;
    if action == Action::Require && value.is_none() {
        return Err(UpstreamError::Claims(format!(
            "it did not give the {what} this server requires"
        )));
    }
    Ok(Imported { value, action })
}

/// Evaluates every import of `provider` for one sign-in.
pub fn evaluate(provider: &Provider, ctx: &ClaimsContext) -> Result<Imports, UpstreamError> {
    let imports = provider.claims_imports();
    let localpart = import(
        imports.localpart.as_ref(),
        "{{ user.preferred_username }}",
        ctx,
        "localpart",
    )?;
    let displayname = import(
        imports.displayname.as_ref(),
        "{{ user.name }}",
        ctx,
        "displayname",
    )?;
    let email = import(imports.email.as_ref(), "{{ user.email }}", ctx, "email")?;
    let on_conflict = match imports
        .localpart
        .as_ref()
        .and_then(|l| l.on_conflict.as_deref())
    {
        Some("add") => OnConflict::Add,
        Some("replace") => OnConflict::Replace,
        Some("set") => OnConflict::Set,
        _ => OnConflict::Fail,
    };
    let verification = imports
        .email
        .as_ref()
        .and_then(|e| e.set_email_verification.as_deref());
    let email_verified = match verification {
        Some("always") => true,
        Some("never") => false,
        // `import` (the default): the provider's `email_verified` claim
        // (OIDC Core §5.1), which some send as a string.
        _ => {
            matches!(ctx.user.get("email_verified"), Some(Value::Bool(true)))
                || ctx.user.get("email_verified").and_then(Value::as_str) == Some("true")
        }
    };
    let account_name = match imports
        .account_name
        .as_ref()
        .and_then(|a| a.template.as_deref())
    {
        Some(template) => render(template, ctx, "account_name")?,
        None => None,
    };
    Ok(Imports {
        localpart,
        on_conflict,
        displayname,
        email,
        email_verified,
        account_name,
        skip_confirmation: imports.skip_confirmation,
    })
}

#[cfg(test)]
mod tests;
