//! Finding, reading and merging configuration files.
//!
//! Files come from `-c` (repeatable), else `$MXAUTH_CONFIG` (or MAS's
//! `$MAS_CONFIG`), colon-separated, else `./config.yaml`. They are merged in
//! order: maps merge key by key, anything else is replaced by the later file.
//! Deserialisation tracks the path of every key, so an unknown or malformed
//! key is reported as `http.listeners[0].bind` rather than "somewhere".
//! `MAS_*` environment variables are applied last (`env_overrides.rs`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mxauth_config::RootConfig;
use serde_norway::Value;

/// Where the configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    Files(Vec<PathBuf>),
    /// No file anywhere: development mode.
    None,
}

/// Decides which files to read, in order of precedence.
pub fn find_sources(cli: &[PathBuf], env: impl Fn(&str) -> Option<String>) -> ConfigSource {
    if !cli.is_empty() {
        return ConfigSource::Files(cli.to_vec());
    }
    for var in ["MXAUTH_CONFIG", "MAS_CONFIG"] {
        if let Some(list) = env(var).filter(|v| !v.trim().is_empty()) {
            let files = list
                .split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect();
            return ConfigSource::Files(files);
        }
    }
    let default = PathBuf::from("config.yaml");
    if default.exists() {
        ConfigSource::Files(vec![default])
    } else {
        ConfigSource::None
    }
}

/// Merges `over` into `base`: maps key by key, everything else replaced.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(base), Value::Mapping(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// Reads one YAML file into a value (an empty file is an empty map).
pub fn read_yaml(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let value: Value = serde_norway::from_str(&text)
        .with_context(|| format!("{} is not valid YAML", path.display()))?;
    Ok(match value {
        Value::Null => Value::Mapping(Default::default()),
        value => value,
    })
}

/// Turns merged YAML into the typed configuration, naming the path of the
/// first key that does not fit.
pub fn deserialize(value: Value) -> Result<RootConfig> {
    match serde_path_to_error::deserialize::<_, RootConfig>(value) {
        Ok(config) => Ok(config),
        Err(e) => {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            if path == "." {
                bail!("invalid configuration: {message}");
            }
            bail!("invalid configuration at {path}: {message}")
        }
    }
}

/// Reads, merges and deserialises `files`, with the process's `MAS_*`
/// environment variables applied.
pub fn load_files(files: &[PathBuf]) -> Result<RootConfig> {
    let mut merged = Value::Mapping(Default::default());
    for file in files {
        merge(&mut merged, read_yaml(file)?);
    }
    deserialize_with_env(merged, std::env::vars())
}

/// Applies `MAS_*` variables from `vars` to `document`, says on standard
/// error which keys they set, and deserialises the result.
pub fn deserialize_with_env(
    mut document: Value,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<RootConfig> {
    let selected = env_overrides::select(vars);
    if selected.is_empty() {
        return deserialize(document);
    }
    // The full key tree, defaults included, tells how a variable's name
    // splits into keys; without it (the files alone do not load yet) the
    // keys present in the files guide the split.
    let schema = deserialize(document.clone())
        .ok()
        .and_then(|config| serde_norway::to_value(&config).ok());
    for applied in env_overrides::apply(&mut document, schema.as_ref(), selected)? {
        eprintln!(
            "configuration: {} sets {} (from the environment)",
            applied.variable, applied.key
        );
    }
    deserialize(document)
}

pub mod env_overrides;
#[cfg(test)]
mod tests;
