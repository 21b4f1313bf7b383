//! Synapse's user mapping (`user_mapping_provider.config` of an OIDC
//! provider, with `allow_existing_users`) as `claims_imports`, keeping what
//! people saw in Synapse:
//!
//! - The subject (`subject_template`, else `subject_claim`, else `sub`)
//!   is what Synapse stored in `user_external_ids`, so it must render the
//!   same here or imported links would never match.
//! - A returning person is found by that link, in both. A new one: with a
//!   `localpart_template` and no `confirm_localpart`, Synapse registers the
//!   rendered name without asking and fails when it renders empty, which is
//!   `action: require` with `skip_confirmation`; with `confirm_localpart`,
//!   Synapse offers the name for editing (`suggest`); without a template it
//!   asks for one (no import).
//! - A name someone already has: with `allow_existing_users`, Synapse signs
//!   in as that user and links it (`on_conflict: add`); without, Synapse
//!   appends a number (`alice1`), which mxauth does not do, so the sign-in
//!   is refused (`fail`) rather than handing over someone else's account.
//! - Display name and email are set without asking (`force`), or offered
//!   (`suggest`) with `confirm_localpart`. Synapse keeps the provider's
//!   email without looking at `email_verified`, hence
//!   `set_email_verification: always`.

use mxauth_config::{ClaimImport, ClaimsImports, TemplateOnly};
use serde_norway::{Mapping, Value};

use super::{
    synapse::{flag, section, string, Report},
    synapse_templates,
};

/// The mapping providers whose configuration is understood here: Synapse's
/// Jinja provider, under its current and its former module name.
const JINJA_MODULES: &[&str] = &[
    "synapse.handlers.oidc.JinjaOidcMappingProvider",
    "synapse.handlers.oidc_handler.JinjaOidcMappingProvider",
];

const KNOWN: &[&str] = &[
    "subject_claim",
    "subject_template",
    "localpart_template",
    "display_name_template",
    "email_template",
    "confirm_localpart",
    "picture_claim",
    "picture_template",
    "extra_attributes",
];

/// The `claims_imports` of one provider (`name` is for messages).
pub fn claims_imports(raw: &Mapping, name: &str, report: &mut Report) -> ClaimsImports {
    let mut imports = ClaimsImports::default();
    let mapping = section(raw, "user_mapping_provider");
    if let Some(module) = mapping.and_then(|m| string(m, "module")) {
        if !JINJA_MODULES.contains(&module.as_str()) {
            report.warn(format!("{name}: the mapping module {module} cannot be converted: the subject is taken from `sub`, which must be what the module returned for imported links to match; set claims_imports by hand"));
            return imports;
        }
    }
    let empty = Mapping::new();
    let config = mapping.and_then(|m| section(m, "config")).unwrap_or(&empty);

    imports.subject = subject(config, name, report);
    let confirm = flag(config, "confirm_localpart") == Some(true);
    let (action, other_action) = if confirm {
        ("suggest", "suggest")
    } else {
        ("require", "force")
    };
    let allow_existing = flag(raw, "allow_existing_users") == Some(true);
    if let Some(localpart) = template(config, "localpart_template", name, report) {
        imports.localpart = Some(ClaimImport {
            action: Some(action.into()),
            template: Some(localpart),
            on_conflict: Some(if allow_existing { "add" } else { "fail" }.into()),
            set_email_verification: None,
        });
        imports.skip_confirmation = !confirm;
        if allow_existing && confirm {
            report.warn(format!("{name}: allow_existing_users with confirm_localpart: mxauth links to an existing account only a localpart the person cannot change, so here people choose a free name"));
        }
    }
    imports.displayname =
        template(config, "display_name_template", name, report).map(|t| ClaimImport {
            action: Some(other_action.into()),
            template: Some(t),
            on_conflict: None,
            set_email_verification: None,
        });
    imports.email = template(config, "email_template", name, report).map(|t| ClaimImport {
        action: Some(other_action.into()),
        template: Some(t),
        on_conflict: None,
        set_email_verification: Some("always".into()),
    });
    for key in ["picture_claim", "picture_template"] {
        if config.contains_key(key) {
            report.warn(format!(
                "{name}: {key} is not used: mxauth does not import avatars"
            ));
        }
    }
    if config.contains_key("extra_attributes") {
        report.warn(format!(
            "{name}: extra_attributes (extra login response fields) have no equivalent"
        ));
    }
    for key in config.keys().filter_map(Value::as_str) {
        if !KNOWN.contains(&key) {
            report.warn(format!(
                "{name}: user_mapping_provider.config.{key} is not a setting mxauth knows"
            ));
        }
    }
    imports
}

/// `subject_template`, else `{{ user.<subject_claim> }}`; nothing for `sub`,
/// mxauth's default. A template that does not convert is kept as written:
/// a wrong subject would silently miss every imported link, a failing one
/// is an error at sign-in that names the template.
fn subject(config: &Mapping, name: &str, report: &mut Report) -> Option<TemplateOnly> {
    let given = string(config, "subject_template").filter(|t| !t.trim().is_empty());
    let text = match (given, string(config, "subject_claim")) {
        (Some(original), _) => match template(config, "subject_template", name, report) {
            Some(converted) => converted,
            None => {
                report.warn(format!("{name}: subject_template was kept as written and fails at sign-in until fixed: imported links match only if it renders what Synapse stored"));
                original
            }
        },
        (None, Some(claim)) if claim != "sub" => claim_template(&claim),
        (None, _) => return None,
    };
    report.imported(format!("{name}: claims_imports.subject.template {text:?}"));
    Some(TemplateOnly {
        template: Some(text),
    })
}

/// The template at `key`, converted; `None` when absent, empty, or not
/// convertible (reported).
fn template(config: &Mapping, key: &str, name: &str, report: &mut Report) -> Option<String> {
    let text = string(config, key).filter(|t| !t.trim().is_empty())?;
    match synapse_templates::convert(&text) {
        Ok(converted) => {
            if converted.rewritten {
                report.imported(format!(
                    "{name}: {key} uses localpart_from_email, written as split('@') | first"
                ));
            }
            Some(converted.template)
        }
        Err(why) => {
            report.warn(format!(
                "{name}: {key} cannot be converted ({why}); write its claims_imports template by hand"
            ));
            None
        }
    }
}

/// `{{ user.claim }}`, or `{{ user["claim"] }}` for a name that is not an
/// identifier (`custom:id`, `x-user`).
fn claim_template(claim: &str) -> String {
    let identifier = claim
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && claim.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if identifier {
        format!("{{{{ user.{claim} }}}}")
    } else {
        format!("{{{{ user[{:?}] }}}}", claim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_name_that_is_not_an_identifier_is_indexed() {
        assert_eq!(claim_template("oid"), "{{ user.oid }}");
        assert_eq!(claim_template("custom:id"), "{{ user[\"custom:id\"] }}");
    }
}
