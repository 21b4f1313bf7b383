//! The authorization response, shared by `/authorize` (errors it can send
//! back) and the consent page (the code). Redirect URIs: choosing the one to use (exact match, RFC 6749 §3.1.2.3
//! and RFC 9700 §2.1; any port on loopback, RFC 8252 §7.3) and sending the
//! authorization response back in the requested response mode (query,
//! fragment, or an auto-submitted form, OAuth 2.0 Form Post Response Mode).

use axum::{
    http::{header, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
};
use url::Url;

pub use mxauth_model::oauth2::ResponseMode;

use crate::templates::{FormPostContext, Templates};

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// Whether `requested` matches `registered`: character for character, except
/// that on a loopback host any port matches (native apps get an ephemeral
/// port from the OS).
pub fn uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(reg), Ok(req)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    is_loopback(&reg)
        && reg.scheme() == "http"
        && req.scheme() == reg.scheme()
        && req.host_str() == reg.host_str()
        && req.path() == reg.path()
        && req.query() == reg.query()
        && req.fragment().is_none()
        && req.username().is_empty()
        && req.password().is_none()
}

/// Picks the redirect URI of an authorization request, or says why none
/// can be used. An omitted `redirect_uri` is fine only when exactly one is
/// registered (RFC 6749 §3.1.2.3).
pub fn resolve(registered: &[String], requested: Option<&str>) -> Result<String, String> {
    match requested {
        Some(uri) => {
            if Url::parse(uri)
                .map(|u| u.fragment().is_some())
                .unwrap_or(true)
            {
                return Err("redirect_uri must be an absolute URI without a fragment".into());
            }
            if registered.iter().any(|r| uri_matches(r, uri)) {
                Ok(uri.to_owned())
            } else {
                Err("redirect_uri is not one of the client's registered redirect URIs".into())
            }
        }
        None => match registered {
            [only] => Ok(only.clone()),
            [] => Err("the client has no registered redirect URI".into()),
            _ => Err("redirect_uri is required: the client registered several".into()),
        },
    }
}

/// Sends `params` to `redirect_uri` in `mode`. Parameters already in the
/// redirect URI's query are kept (RFC 6749 §3.1.2).
pub fn respond(
    templates: &Templates,
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, String)],
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "invalid redirect URI").into_response();
    };
    match mode {
        ResponseMode::Query => {
            url.query_pairs_mut()
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
            Redirect::to(url.as_str()).into_response()
        }
        ResponseMode::Fragment => {
            let fragment = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            url.set_fragment(Some(&fragment));
            Redirect::to(url.as_str()).into_response()
        }
        ResponseMode::FormPost => {
            let page = templates.render(&FormPostContext {
                redirect_uri: redirect_uri.to_owned(),
                params: params
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), value.clone()))
                    .collect(),
            });
            match page {
                Ok(html) => {
                    let mut response = Html(html).into_response();
                    crate::errors::page::secure_headers(response.headers_mut());
                    // The page only posts its form: no resources, its one
                    // inline handler, and never inside a frame.
                    response.headers_mut().insert(
                        header::CONTENT_SECURITY_POLICY,
                        header::HeaderValue::from_static(
                            "default-src 'none'; script-src 'unsafe-inline'; frame-ancestors 'none'",
                        ),
                    );
                    response
                }
                Err(e) => {
                    tracing::error!(error = %e, "rendering the form_post page");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            }
        }
    }
}

/// An error sent back to the client (RFC 6749 §4.1.2.1), with `state`.
pub fn error(
    templates: &Templates,
    redirect_uri: &str,
    mode: ResponseMode,
    state: Option<&str>,
    code: &str,
    description: &str,
) -> Response {
    let mut params = vec![
        ("error", code.to_owned()),
        ("error_description", description.to_owned()),
    ];
    if let Some(state) = state {
        params.push(("state", state.to_owned()));
    }
    respond(templates, redirect_uri, mode, &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_post_page_cannot_be_framed() {
        let templates = Templates::sample();
        let params = [("code", "abc".to_owned()), ("state", "xyz".to_owned())];
        let response = respond(
            &templates,
            "https://app.example.com/cb",
            ResponseMode::FormPost,
            &params,
        );
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }

    #[test]
    fn exact_match_except_loopback_ports() {
        assert!(uri_matches(
            "https://app.example.com/cb",
            "https://app.example.com/cb"
        ));
        assert!(!uri_matches(
            "https://app.example.com/cb",
            "https://app.example.com/cb/"
        ));
        assert!(!uri_matches(
            "https://app.example.com/cb",
            "https://app.example.com:8443/cb"
        ));
        assert!(!uri_matches(
            "https://app.example.com/cb",
            "https://evil.example.com/cb"
        ));
        assert!(!uri_matches(
            "https://app.example.com/cb",
            "https://app.example.com/cb?x=1"
        ));
        assert!(uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:53124/cb"
        ));
        assert!(uri_matches(
            "http://localhost:1/cb",
            "http://localhost:9/cb"
        ));
        assert!(uri_matches("http://[::1]/cb", "http://[::1]:80/cb"));
        assert!(!uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:1/other"
        ));
        assert!(!uri_matches(
            "http://127.0.0.1/cb",
            "http://user@127.0.0.1:1/cb"
        ));
        assert!(!uri_matches("http://127.0.0.2/cb", "http://127.0.0.2:1/cb"));
    }

    #[test]
    fn resolve_requires_a_registered_uri() {
        let one = vec!["https://a.example/cb".to_owned()];
        let two = vec![
            "https://a.example/cb".to_owned(),
            "https://a.example/cb2".to_owned(),
        ];
        assert_eq!(resolve(&one, None).unwrap(), "https://a.example/cb");
        assert!(resolve(&two, None).unwrap_err().contains("required"));
        assert!(resolve(&one, Some("https://evil.example/cb")).is_err());
        assert!(resolve(&one, Some("https://a.example/cb#frag")).is_err());
        assert!(resolve(&one, Some("not a url")).is_err());
        assert!(resolve(&[], None).is_err());
    }

    #[test]
    fn responses_use_the_response_mode() {
        let t = Templates::sample();
        let params = [("code", "abc".to_owned()), ("state", "x y".to_owned())];
        let r = respond(
            &t,
            "https://a.example/cb?keep=1",
            ResponseMode::Query,
            &params,
        );
        assert_eq!(
            r.headers()["location"],
            "https://a.example/cb?keep=1&code=abc&state=x+y"
        );
        let r = respond(&t, "https://a.example/cb", ResponseMode::Fragment, &params);
        assert_eq!(
            r.headers()["location"],
            "https://a.example/cb#code=abc&state=x+y"
        );
        let r = respond(&t, "https://a.example/cb", ResponseMode::FormPost, &params);
        assert_eq!(r.status(), StatusCode::OK);
    }
}
