//! Synapse's mapping templates (`user_mapping_provider.config.*_template`)
//! as `claims_imports` templates. Both are Jinja over `user` (the claims),
//! so most templates carry over as they are. Synapse adds one filter of its
//! own, `localpart_from_email`, which becomes `split('@') | first`. Anything
//! else Python's Jinja has and minijinja lacks (string methods such as
//! `.lower()`, other filters) is found by rendering the converted template
//! once over sample claims, with the server's settings, and reported rather
//! than left to fail at someone's first sign-in.

use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::json;

/// The filter Synapse registers in its mapping environment.
const SYNAPSE_FILTER: &str = "localpart_from_email";
/// Its equivalent. Synapse keeps what precedes the last `@`; this keeps
/// what precedes the first, which differs only for an address whose quoted
/// local part holds an `@`.
const EQUIVALENT: &str = "split('@') | first";

/// A template that carries over.
#[derive(Debug, PartialEq, Eq)]
pub struct Converted {
    pub template: String,
    /// Whether a Synapse-only filter was replaced.
    pub rewritten: bool,
}

/// Converts one of Synapse's templates; the error says what mxauth cannot
/// render.
pub fn convert(template: &str) -> Result<Converted, String> {
    let (template, rewritten) = replace_synapse_filter(template);
    check(&template)?;
    Ok(Converted {
        template,
        rewritten,
    })
}

/// `… | localpart_from_email` → `… | split('@') | first`, only where the
/// name is used as a filter (after a `|`), not inside a claim name.
fn replace_synapse_filter(template: &str) -> (String, bool) {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut rewritten = false;
    while let Some(at) = rest.find(SYNAPSE_FILTER) {
        let (before, after) = rest.split_at(at);
        let after = &after[SYNAPSE_FILTER.len()..];
        let is_filter = before.trim_end().ends_with('|')
            && !after.starts_with(|c: char| c.is_alphanumeric() || c == '_');
        out.push_str(before);
        if is_filter {
            out.push_str(EQUIVALENT);
            rewritten = true;
        } else {
            out.push_str(SYNAPSE_FILTER);
        }
        rest = after;
    }
    out.push_str(rest);
    (out, rewritten)
}

/// Renders `template` over sample claims. Only what no claim can fix is an
/// error: bad syntax, a filter, test, function or method minijinja does not
/// have. Claims the sample lacks are allowed (`Chainable`).
fn check(template: &str) -> Result<(), String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    let user = json!({
        "sub": "0f6c0d5e",
        "preferred_username": "alice",
        "name": "Alice Liddell",
        "given_name": "Alice",
        "family_name": "Liddell",
        "nickname": "alice",
        "email": "alice@example.com",
        "email_verified": true,
        "picture": "https://example.com/alice.png",
    });
    match env.render_str(template, json!({ "user": user })) {
        Ok(_) => Ok(()),
        Err(e) => match e.kind() {
            ErrorKind::SyntaxError
            | ErrorKind::UnknownFilter
            | ErrorKind::UnknownTest
            | ErrorKind::UnknownFunction
            | ErrorKind::UnknownMethod => Err(e.to_string()),
            _ => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, user: serde_json::Value) -> String {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.render_str(template, json!({ "user": user })).unwrap()
    }

    #[test]
    fn plain_templates_carry_over_unchanged() {
        for template in [
            "{{ user.preferred_username }}",
            "{{ user.given_name }} {{ user.family_name }}",
            "{{ user.preferred_username | lower }}",
            "{% if user.nickname %}{{ user.nickname }}{% else %}{{ user.sub }}{% endif %}",
        ] {
            assert_eq!(
                convert(template),
                Ok(Converted {
                    template: template.to_owned(),
                    rewritten: false
                })
            );
        }
    }

    #[test]
    fn synapse_filter_becomes_minijinja_and_renders_the_same() {
        let converted = convert("{{ user.email | localpart_from_email }}").unwrap();
        assert_eq!(converted.template, "{{ user.email | split('@') | first }}");
        assert!(converted.rewritten);
        assert_eq!(
            render(&converted.template, json!({"email": "bob@example.org"})),
            "bob"
        );
        // Without an `@` Synapse keeps the whole value; so does this.
        assert_eq!(render(&converted.template, json!({"email": "bob"})), "bob");
        let chained = convert("{{ user.upn|localpart_from_email|lower }}").unwrap();
        assert_eq!(chained.template, "{{ user.upn|split('@') | first|lower }}");
        assert_eq!(
            render(&chained.template, json!({"upn": "Bob@corp.example"})),
            "bob"
        );
        // A claim that happens to carry the name is left alone.
        let claim = convert("{{ user.localpart_from_email_claim }}").unwrap();
        assert!(!claim.rewritten);
    }

    #[test]
    fn what_minijinja_cannot_render_is_reported() {
        let method = convert("{{ user.email.split('@')[0] }}").unwrap_err();
        assert!(method.contains("unknown method"), "{method}");
        let filter = convert("{{ user.name | wordwrap(10) }}").unwrap_err();
        assert!(filter.contains("unknown filter"), "{filter}");
        let syntax = convert("{{ user.name ").unwrap_err();
        assert!(syntax.contains("syntax error"), "{syntax}");
        // A claim the sample lacks is not a problem of the template.
        assert!(convert("{{ user.address.locality | upper }}").is_ok());
    }
}
