//! The `User-Agent` a request names, as sessions store it and the policy
//! data's `requester` rules match it.

use axum::http::{header::USER_AGENT, HeaderMap};

/// The longest user agent kept. Real ones are a few hundred characters;
/// hyper accepts headers of hundreds of kilobytes, and each session stores
/// its user agent, so a longer one is cut here rather than stored whole.
pub const MAX_USER_AGENT: usize = 512;

/// The request's user agent, cut to [`MAX_USER_AGENT`] bytes; `None` when
/// absent or not visible ASCII (`HeaderValue::to_str`), so no control
/// character or NUL reaches storage, and any cut falls on a character
/// boundary.
pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    let agent = headers.get(USER_AGENT)?.to_str().ok()?;
    Some(&agent[..agent.len().min(MAX_USER_AGENT)])
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::*;

    #[test]
    fn long_agents_are_cut_and_unprintable_ones_dropped() {
        let mut headers = HeaderMap::new();
        assert_eq!(user_agent(&headers), None);
        headers.insert(USER_AGENT, HeaderValue::from_static("Element/1.0"));
        assert_eq!(user_agent(&headers), Some("Element/1.0"));
        let long = "x".repeat(10_000);
        headers.insert(USER_AGENT, HeaderValue::from_str(&long).unwrap());
        assert_eq!(user_agent(&headers), Some(&long[..MAX_USER_AGENT]));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_bytes(b"bad\xffagent").unwrap(),
        );
        assert_eq!(user_agent(&headers), None);
    }
}
