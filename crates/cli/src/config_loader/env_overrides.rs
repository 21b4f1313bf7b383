//! `MAS_`-prefixed environment variables that set configuration keys, as
//! MAS's loader reads them: `MAS_DATABASE_URI=postgresql://…` sets
//! `database.uri`.
//!
//! The name after `MAS_` is the key path with `_` between the parts. Key
//! names hold underscores themselves (`http.public_base`), so the parts are
//! matched against the keys the schema has (every key with its default, from
//! the configuration as loaded) and the longest name that exists wins:
//! `MAS_HTTP_PUBLIC_BASE` is `http.public_base`, not `http.public.base`. A
//! tail no known key matches becomes one key, and the schema then rejects it
//! by path as it rejects a typo in a file.
//!
//! Where we differ from MAS, on purpose: MAS layers the files over the
//! environment, so a key set in a file silently wins over the variable. An
//! admin who exports a variable means it, so here the environment is applied
//! last and wins; each applied variable is reported by name (never its value,
//! which may be a secret). Variables whose first part is no configuration
//! section (`MAS_CONFIG`, a container's own `MAS_VERSION`…) are left alone.

use anyhow::{bail, Result};
use mxauth_config::SECTIONS;
use serde_norway::{Mapping, Value};

const PREFIX: &str = "MAS_";

/// One variable that was applied: its name and the key it set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedOverride {
    pub variable: String,
    pub key: String,
}

/// A `MAS_*` variable under a configuration section: its name, the
/// lower-case parts of the name after `MAS_`, its value.
pub struct Selected {
    variable: String,
    parts: Vec<String>,
    value: String,
}

/// The variables of `vars` that name configuration keys, in a stable order
/// (two variables naming the same key apply the same way every time).
pub fn select(vars: impl IntoIterator<Item = (String, String)>) -> Vec<Selected> {
    let mut selected: Vec<Selected> = vars
        .into_iter()
        .filter_map(|(name, value)| {
            let parts = name.strip_prefix(PREFIX)?.to_ascii_lowercase();
            let parts: Vec<String> = parts.split('_').map(str::to_owned).collect();
            SECTIONS
                .iter()
                .any(|section| starts_with_key(&parts, section))
                .then_some(Selected {
                    variable: name,
                    parts,
                    value,
                })
        })
        .collect();
    selected.sort_by(|a, b| a.variable.cmp(&b.variable));
    selected
}

/// Sets the keys named by the `selected` variables in `document`. `schema`
/// is the full key tree (the configuration serialised with its defaults)
/// when it could be built, and guides how names split into keys.
pub fn apply(
    document: &mut Value,
    schema: Option<&Value>,
    selected: Vec<Selected>,
) -> Result<Vec<AppliedOverride>> {
    let mut applied = Vec::new();
    for Selected {
        variable,
        parts,
        value,
    } in selected
    {
        let key = resolve(&parts, schema, document);
        let expects_text = lookup(schema, &key).is_some_and(Value::is_string)
            || lookup(Some(document), &key).is_some_and(Value::is_string);
        set(document, &key, parse_value(&value, expects_text), &variable)?;
        applied.push(AppliedOverride {
            variable,
            key: key.join("."),
        });
    }
    Ok(applied)
}

/// Whether `parts` start with the underscore-separated words of `key`.
fn starts_with_key(parts: &[String], key: &str) -> bool {
    let words: Vec<&str> = key.split('_').collect();
    parts.len() >= words.len() && parts.iter().zip(&words).all(|(p, w)| p == w)
}

/// Splits `parts` into key names, longest known name first at each level.
fn resolve(parts: &[String], schema: Option<&Value>, document: &Value) -> Vec<String> {
    let mut key = Vec::new();
    let mut rest = parts;
    let mut levels = [schema, Some(document)];
    while !rest.is_empty() {
        let mut known: Vec<&str> = levels
            .iter()
            .flatten()
            .filter_map(|v| v.as_mapping())
            .flat_map(|m| m.keys().filter_map(Value::as_str))
            .collect();
        if key.is_empty() {
            // A section absent from the files is still a section.
            known.extend_from_slice(SECTIONS);
        }
        let take = (1..=rest.len())
            .rev()
            .find(|&n| known.contains(&rest[..n].join("_").as_str()))
            .unwrap_or(rest.len());
        let name = rest[..take].join("_");
        levels = levels.map(|level| level.and_then(|v| v.get(name.as_str())));
        key.push(name);
        rest = &rest[take..];
    }
    key
}

fn lookup<'v>(root: Option<&'v Value>, key: &[String]) -> Option<&'v Value> {
    key.iter()
        .try_fold(root?, |value, name| value.get(name.as_str()))
}

/// A value is YAML (`true`, `8`, `[a, b]`) unless the key holds text, where
/// it is taken as written (a password `yes: no` stays a string).
fn parse_value(raw: &str, expects_text: bool) -> Value {
    if expects_text {
        return Value::String(raw.to_owned());
    }
    match serde_norway::from_str::<Value>(raw) {
        Ok(Value::Null) if !matches!(raw.trim(), "null" | "~") => Value::String(raw.to_owned()),
        Ok(value) => value,
        Err(_) => Value::String(raw.to_owned()),
    }
}

fn set(document: &mut Value, key: &[String], value: Value, variable: &str) -> Result<()> {
    let mut node = document;
    for name in key {
        if node.is_null() {
            *node = Value::Mapping(Mapping::new());
        }
        let Some(map) = node.as_mapping_mut() else {
            bail!(
                "{variable} sets `{}`, but `{name}`'s parent is not a map (lists cannot be changed from the environment)",
                key.join(".")
            );
        };
        node = map
            .entry(Value::String(name.clone()))
            .or_insert(Value::Null);
    }
    *node = value;
    Ok(())
}
