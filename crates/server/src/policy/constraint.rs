//! String constraints of the policy data, as MAS's default policy reads
//! them: `{literals, substrings, regexes, prefixes, suffixes}`, each a list;
//! a value matches the constraint when it matches any entry of any list.
//! Regexes search (they are not anchored): write `^…$` for a whole match.

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

/// A constraint as written in the data.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct ConstraintData {
    literals: Vec<String>,
    substrings: Vec<String>,
    regexes: Vec<String>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

/// The largest compiled regex the data may hold: admins write these, but
/// a pasted monster should be refused, not stall every registration.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A constraint ready to match, its regexes compiled.
#[derive(Debug, Clone)]
pub struct StringConstraint {
    literals: Vec<String>,
    substrings: Vec<String>,
    regexes: Vec<Regex>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl StringConstraint {
    /// `field` names the constraint in the error (`registration.banned_usernames`).
    pub(super) fn compile(data: ConstraintData, field: &str) -> Result<Self, String> {
        let regexes = data
            .regexes
            .iter()
            .map(|pattern| {
                RegexBuilder::new(pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| format!("{field}.regexes: {pattern:?} is not a regex: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            literals: data.literals,
            substrings: data.substrings,
            regexes,
            prefixes: data.prefixes,
            suffixes: data.suffixes,
        })
    }

    /// Whether `value` matches any entry.
    pub fn matches(&self, value: &str) -> bool {
        self.literals.iter().any(|l| l == value)
            || self.substrings.iter().any(|s| value.contains(s.as_str()))
            || self.prefixes.iter().any(|p| value.starts_with(p.as_str()))
            || self.suffixes.iter().any(|s| value.ends_with(s.as_str()))
            || self.regexes.iter().any(|r| r.is_match(value))
    }
}
