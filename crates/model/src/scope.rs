//! OAuth 2.0 scopes (RFC 6749 §3.3) and the Matrix meaning of some of them
//! (MSC2967): parsing, the device a scope names, the rules an authorization
//! request must follow, and the form introspection answers with.

use std::{
    borrow::{Borrow, Cow},
    collections::BTreeSet,
    fmt,
    str::FromStr,
};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Stable prefix of Matrix scopes (MSC2967 as merged into the Matrix spec).
const STABLE_PREFIX: &str = "urn:matrix:client:";
/// Unstable (MSC2967) prefix of Matrix scopes, still used by many clients.
const UNSTABLE_PREFIX: &str = "urn:matrix:org.matrix.msc2967.client:";
const API: &str = "api:";
const DEVICE: &str = "device:";

/// `openid`: the request is an OpenID Connect one (OIDC Core §3.1.2.1).
pub const OPENID: ScopeToken = ScopeToken::from_static("openid");
/// `email`: access to the `email` and `email_verified` claims (OIDC Core §5.4).
pub const EMAIL: ScopeToken = ScopeToken::from_static("email");
/// Full access to the Matrix client-server API, stable name.
pub const MATRIX_API: ScopeToken = ScopeToken::from_static("urn:matrix:client:api:*");
/// Full access to the Matrix client-server API, unstable (MSC2967) name.
pub const MATRIX_API_UNSTABLE: ScopeToken =
    ScopeToken::from_static("urn:matrix:org.matrix.msc2967.client:api:*");
/// Access to Synapse's admin API.
pub const SYNAPSE_ADMIN: ScopeToken = ScopeToken::from_static("urn:synapse:admin:*");
/// Access to the MAS admin API and to everything in its GraphQL API.
pub const MAS_ADMIN: ScopeToken = ScopeToken::from_static("urn:mas:admin");
/// Access to the MAS GraphQL API, as the user.
pub const MAS_GRAPHQL: ScopeToken = ScopeToken::from_static("urn:mas:graphql:*");

/// What is wrong with a scope string, or with the devices it names.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScopeError {
    #[error("the scope is empty; it needs at least one scope token (RFC 6749 §3.3)")]
    Empty,
    #[error("scope token {position} is empty: tokens are separated by exactly one space, with none at the start or end")]
    EmptyToken { position: usize },
    #[error("scope token {token:?} contains {character:?}, which is not allowed in a scope (RFC 6749 §3.3 allows printable ASCII except space, '\"' and '\\')")]
    InvalidCharacter { token: String, character: char },
    #[error(
        "the scope names more than one device ({first:?} and {second:?}); a session has one device"
    )]
    MultipleDevices { first: String, second: String },
}

/// Why a scope may not be requested in an authorization request (the
/// structural rules of MAS's `authorization_grant` policy).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthorizationScopeError {
    #[error("only one device scope is allowed at a time")]
    MultipleDeviceScopes,
    #[error("the request cannot mix stable (urn:matrix:client:) and unstable (urn:matrix:org.matrix.msc2967.client:) Matrix scopes")]
    MixedStableAndUnstable,
    #[error("the device ID {device_id:?} in a device scope must be at least 10 characters from A-Z a-z 0-9 and -._~!$&'()*+,;=:@/")]
    InvalidDeviceId { device_id: String },
    #[error("device scopes are only allowed when the client-server API scope is requested")]
    DeviceWithoutApiScope,
}

/// One scope token (RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScopeToken(Cow<'static, str>);

/// RFC 6749 §3.3 / appendix A.4 `NQCHAR`: printable ASCII but space, `"`, `\`.
///
/// Better than MAS: its check uses half-open ranges and so refuses `[` and
/// `~`, although RFC 6749 allows both and `~` is valid in device IDs.
fn is_nqchar(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

impl ScopeToken {
    /// A token from a constant. Not checked (checks cannot run in `const`),
    /// so use it only with literals known to be valid.
    pub const fn from_static(token: &'static str) -> Self {
        Self(Cow::Borrowed(token))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The device this token names, if it is a device scope (stable or
    /// unstable). The ID's own syntax is checked by
    /// [`Scope::validate_authorization_request`].
    pub fn device_id(&self) -> Option<&str> {
        self.matrix_suffix(DEVICE)
    }

    /// Whether this is a Matrix client-server API scope, stable or unstable.
    pub fn is_api(&self) -> bool {
        self.matrix_suffix(API).is_some()
    }

    /// Whether this token uses the stable `urn:matrix:client:` namespace.
    pub fn is_stable_matrix(&self) -> bool {
        self.0.starts_with(STABLE_PREFIX)
    }

    /// Whether this token uses the unstable MSC2967 namespace.
    pub fn is_unstable_matrix(&self) -> bool {
        self.0.starts_with(UNSTABLE_PREFIX)
    }

    /// The part after `urn:matrix:client:<kind>` or its unstable equivalent.
    fn matrix_suffix(&self, kind: &str) -> Option<&str> {
        self.0
            .strip_prefix(STABLE_PREFIX)
            .or_else(|| self.0.strip_prefix(UNSTABLE_PREFIX))
            .and_then(|rest| rest.strip_prefix(kind))
    }

    /// The same Matrix scope in the other namespace (stable ↔ unstable), or
    /// `None` for a non-Matrix token.
    fn other_namespace(&self) -> Option<ScopeToken> {
        let (rest, prefix) = if let Some(rest) = self.0.strip_prefix(STABLE_PREFIX) {
            (rest, UNSTABLE_PREFIX)
        } else {
            (self.0.strip_prefix(UNSTABLE_PREFIX)?, STABLE_PREFIX)
        };
        Some(ScopeToken(Cow::Owned(format!("{prefix}{rest}"))))
    }
}

impl FromStr for ScopeToken {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ScopeError::EmptyToken { position: 1 });
        }
        if let Some(character) = s.chars().find(|c| !is_nqchar(*c)) {
            return Err(ScopeError::InvalidCharacter {
                token: s.to_owned(),
                character,
            });
        }
        Ok(Self(Cow::Owned(s.to_owned())))
    }
}

impl fmt::Display for ScopeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ScopeToken {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Sound because the derived `Ord` of `Cow<str>` orders exactly as `str` does.
impl Borrow<str> for ScopeToken {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// The device scope for `device_id`, in the stable (`urn:matrix:client:device:`)
/// or unstable (MSC2967) namespace. Fails when the ID holds a character a
/// scope cannot carry, which device IDs of compat sessions sometimes do.
pub fn device_scope(device_id: &str, stable: bool) -> Result<ScopeToken, ScopeError> {
    let prefix = if stable {
        STABLE_PREFIX
    } else {
        UNSTABLE_PREFIX
    };
    format!("{prefix}{DEVICE}{device_id}").parse()
}

/// The device-ID syntax MAS's `authorization_grant` policy enforces:
/// `[A-Za-z0-9._~!$&'()*+,;=:@/-]{10,}`.
fn is_valid_device_id(id: &str) -> bool {
    id.len() >= 10
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~!$&'()*+,;=:@/-".contains(&b))
}

/// A set of scope tokens, kept sorted so that it prints the same way whatever
/// order the client asked in (RFC 6749 §3.3: order does not matter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<ScopeToken>);

impl Scope {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// Adds a token; returns whether it was new.
    pub fn insert(&mut self, token: ScopeToken) -> bool {
        self.0.insert(token)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ScopeToken> {
        self.0.iter()
    }

    /// Whether every token of `self` is in `other`: a refreshed or exchanged
    /// token may narrow its scope but never widen it (RFC 6749 §6).
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Whether the scope grants the Matrix client-server API, under either
    /// name. Only the full-access `*` scope counts: it is the one Synapse acts
    /// on.
    pub fn has_api_scope(&self) -> bool {
        self.0.contains(&MATRIX_API) || self.0.contains(&MATRIX_API_UNSTABLE)
    }

    /// The device the scope names, if any. The stable and unstable scopes of
    /// the same device count as one (introspection hands out both); two
    /// different device IDs are an error.
    pub fn device_id(&self) -> Result<Option<&str>, ScopeError> {
        let mut found: Option<&str> = None;
        for id in self.0.iter().filter_map(ScopeToken::device_id) {
            match found {
                Some(first) if first != id => {
                    return Err(ScopeError::MultipleDevices {
                        first: first.to_owned(),
                        second: id.to_owned(),
                    })
                }
                _ => found = Some(id),
            }
        }
        Ok(found)
    }

    /// Whether the scope uses both the stable and the unstable Matrix names.
    pub fn is_mixing_stable_and_unstable(&self) -> bool {
        self.0.iter().any(ScopeToken::is_stable_matrix)
            && self.0.iter().any(ScopeToken::is_unstable_matrix)
    }

    pub fn requests_synapse_admin(&self) -> bool {
        self.0.contains(&SYNAPSE_ADMIN)
    }

    pub fn requests_mas_admin(&self) -> bool {
        self.0.contains(&MAS_ADMIN)
    }

    /// The structural rules a requested scope must follow, as MAS's
    /// `authorization_grant` policy has them. Which scopes a given client or
    /// user may have at all (admin scopes, grant types) is a policy decision
    /// made elsewhere; this checks only that the request makes sense:
    ///
    /// - not both stable and unstable Matrix names;
    /// - at most one device scope (a session is one device);
    /// - a device ID of at least 10 characters from the policy's set;
    /// - a device only together with the client-server API, since a device
    ///   without API access would be an unusable Synapse device.
    pub fn validate_authorization_request(&self) -> Result<(), AuthorizationScopeError> {
        // Mixing first: a device named in both namespaces is reported as the
        // mixing it is, as MAS does, not as two devices.
        if self.is_mixing_stable_and_unstable() {
            return Err(AuthorizationScopeError::MixedStableAndUnstable);
        }
        let devices: Vec<&str> = self.0.iter().filter_map(ScopeToken::device_id).collect();
        if devices.len() > 1 {
            return Err(AuthorizationScopeError::MultipleDeviceScopes);
        }
        if let Some(id) = devices.first() {
            if !is_valid_device_id(id) {
                return Err(AuthorizationScopeError::InvalidDeviceId {
                    device_id: (*id).to_owned(),
                });
            }
            // Like MAS, any API scope makes a device acceptable here; whether
            // a narrower API scope is allowed at all is the policy's call.
            if !self.0.iter().any(ScopeToken::is_api) {
                return Err(AuthorizationScopeError::DeviceWithoutApiScope);
            }
        }
        Ok(())
    }

    /// The scope to report from token introspection (RFC 7662 §2.2): every
    /// Matrix API and device scope in both its stable and unstable names, so
    /// that homeservers reading either form find it. MAS does this for the
    /// `*` API scope and device scopes; we do it for every API scope.
    pub fn introspection_scope(&self) -> Scope {
        let mut out = self.clone();
        for token in &self.0 {
            if token.is_api() || token.device_id().is_some() {
                if let Some(other) = token.other_namespace() {
                    out.0.insert(other);
                }
            }
        }
        out
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    /// RFC 6749 §3.3: `scope = scope-token *( SP scope-token )`. A token
    /// repeated is kept once.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ScopeError::Empty);
        }
        s.split(' ')
            .enumerate()
            .map(|(i, token)| match token.parse::<ScopeToken>() {
                Err(ScopeError::EmptyToken { .. }) => {
                    Err(ScopeError::EmptyToken { position: i + 1 })
                }
                other => other,
            })
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, token) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(token.as_str())?;
        }
        Ok(())
    }
}

impl FromIterator<ScopeToken> for Scope {
    fn from_iter<I: IntoIterator<Item = ScopeToken>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Scope {
    type Item = &'a ScopeToken;
    type IntoIter = std::collections::btree_set::Iter<'a, ScopeToken>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// On the wire (and in the database) a scope is its space-separated string.
impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
