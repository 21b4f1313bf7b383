//! The browser cookie: one encrypted, authenticated cookie holding the
//! browser session id and the CSRF token, scoped to the path of
//! `public_base`, `HttpOnly`, `SameSite=Lax`, `Secure` on https.
//!
//! CSRF: every form carries the token from the cookie; a POST is accepted
//! only when the form's token equals the cookie's (compared in constant
//! time) and has not expired. An attacker's page can make the browser send
//! the cookie but cannot read it, so cannot forge the form field.

use axum::http::{header, HeaderMap, HeaderValue};
use chrono::{DateTime, Duration, Utc};
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use ulid::Ulid;

use mxauth_crypto::encrypter::Encrypter;

pub const COOKIE_NAME: &str = "mxauth-session";

/// How long a CSRF token stays valid.
const CSRF_LIFETIME_HOURS: i64 = 1;

/// What the cookie holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CookieData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_session: Option<Ulid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<CsrfToken>,
    /// Sign-ins started at upstream providers in this browser: the cookie
    /// is what ties a provider's callback to the browser that started it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<PendingUpstream>,
    /// Registrations started in this browser: only it may take their
    /// steps (the id in the URL alone is not enough).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registrations: Vec<Ulid>,
}

/// A sign-in at an upstream provider, as the browser's cookie holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpstream {
    pub session: Ulid,
    /// The PKCE verifier (RFC 7636 §4.1), kept only here, never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier: Option<String>,
}

/// How many sign-ins (and registrations) a browser can have in flight
/// (several tabs).
const MAX_PENDING_UPSTREAM: usize = 4;

impl CookieData {
    /// Adds a sign-in, forgetting the oldest beyond the limit.
    pub fn add_upstream(&mut self, pending: PendingUpstream) {
        self.upstream.push(pending);
        let excess = self.upstream.len().saturating_sub(MAX_PENDING_UPSTREAM);
        self.upstream.drain(..excess);
    }

    /// Adds a registration, forgetting the oldest beyond the limit.
    pub fn add_registration(&mut self, id: Ulid) {
        self.registrations.push(id);
        let excess = self
            .registrations
            .len()
            .saturating_sub(MAX_PENDING_UPSTREAM);
        self.registrations.drain(..excess);
    }

    /// Forgets a sign-in once it is used.
    pub fn remove_upstream(&mut self, session: Ulid) {
        self.upstream.retain(|p| p.session != session);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsrfToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// How cookies are written for this deployment.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    pub encrypter: Encrypter,
    /// The path of `public_base`, e.g. `/auth/`.
    pub path: String,
    pub secure: bool,
}

impl CookieSettings {
    /// Reads the cookie from a request; a missing, forged or stale cookie is
    /// an empty one.
    pub fn read(&self, headers: &HeaderMap) -> CookieData {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == COOKIE_NAME)
            .and_then(|cookie| self.encrypter.decrypt(cookie.value()).ok())
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .unwrap_or_default()
    }

    /// The `Set-Cookie` header value for `data`.
    pub fn header(&self, data: &CookieData) -> HeaderValue {
        let json = serde_json::to_vec(data).unwrap_or_default();
        let cookie = Cookie::build((COOKIE_NAME, self.encrypter.encrypt(&json)))
            .path(self.path.clone())
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .build();
        HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

impl CookieData {
    /// The current CSRF token, making a new one if there is none or it
    /// expired. Returns whether the cookie changed (and must be re-sent).
    pub fn ensure_csrf(
        &mut self,
        now: DateTime<Utc>,
        fresh: impl FnOnce() -> String,
    ) -> (String, bool) {
        match &self.csrf {
            Some(csrf) if csrf.expires_at > now + Duration::minutes(5) => {
                (csrf.token.clone(), false)
            }
            _ => {
                let token = fresh();
                self.csrf = Some(CsrfToken {
                    token: token.clone(),
                    expires_at: now + Duration::hours(CSRF_LIFETIME_HOURS),
                });
                (token, true)
            }
        }
    }

    /// Whether `submitted` is this cookie's unexpired CSRF token.
    pub fn check_csrf(&self, submitted: &str, now: DateTime<Utc>) -> bool {
        match &self.csrf {
            Some(csrf) if csrf.expires_at > now => {
                bool::from(csrf.token.as_bytes().ct_eq(submitted.as_bytes()))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CookieSettings {
        CookieSettings {
            encrypter: Encrypter::new(&[1; 32]),
            path: "/auth/".into(),
            secure: true,
        }
    }

    fn request_with(value: &HeaderValue) -> HeaderMap {
        let set = value.to_str().unwrap();
        let pair = set.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {pair}")).unwrap(),
        );
        headers
    }

    #[test]
    fn cookie_round_trips_and_carries_its_attributes() {
        let s = settings();
        let data = CookieData {
            browser_session: Some(Ulid::nil()),
            ..CookieData::default()
        };
        let header = s.header(&data);
        let text = header.to_str().unwrap();
        for attribute in ["; Path=/auth/", "; HttpOnly", "; SameSite=Lax", "; Secure"] {
            assert!(text.contains(attribute), "{attribute} in {text}");
        }
        assert_eq!(s.read(&request_with(&header)), data);
    }

    #[test]
    fn a_forged_cookie_reads_as_empty() {
        let s = settings();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("mxauth-session=forged"),
        );
        assert_eq!(s.read(&headers), CookieData::default());
        let other = CookieSettings {
            encrypter: Encrypter::new(&[2; 32]),
            ..settings()
        };
        let header = other.header(&CookieData {
            browser_session: Some(Ulid::nil()),
            ..CookieData::default()
        });
        assert_eq!(s.read(&request_with(&header)), CookieData::default());
    }

    #[test]
    fn csrf_tokens_match_only_themselves_and_expire() {
        let now = mxauth_model::Clock::now(&mxauth_model::MockClock::default());
        let mut data = CookieData::default();
        let (token, changed) = data.ensure_csrf(now, || "abc123".into());
        assert!(changed);
        assert!(data.check_csrf(&token, now));
        assert!(!data.check_csrf("abc124", now));
        assert!(!data.check_csrf("", now));
        assert!(!data.check_csrf(&token, now + Duration::hours(2)));
        // A token close to expiry is replaced.
        let (_, changed) = data.ensure_csrf(now + Duration::minutes(58), || "new".into());
        assert!(changed);
        assert!(!CookieData::default().check_csrf("abc123", now));
    }
}
