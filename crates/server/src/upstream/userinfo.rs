//! The userinfo request (OIDC Core §5.3) for `fetch_userinfo: true`: the
//! answer is JSON, or a JWT when `userinfo_signed_response_alg` is set or
//! the provider answers `application/jwt` (§5.3.2). Its `sub` must be the
//! ID token's (§5.3.4), or the answer is about someone else.

use serde_json::{Map, Value};

use super::{
    id_token::{check_issuer_and_audience, verify_signed},
    metadata::Endpoints,
    provider::Provider,
    UpstreamError,
};
use crate::state::AppState;

/// The largest userinfo answer read.
const RESPONSE_LIMIT: usize = 64 * 1024;

pub async fn fetch_userinfo(
    state: &AppState,
    provider: &Provider,
    endpoints: &Endpoints,
    access_token: &str,
    id_token_subject: Option<&str>,
) -> Result<Map<String, Value>, UpstreamError> {
    let fail = UpstreamError::Userinfo;
    let url = endpoints.userinfo_endpoint.as_ref().ok_or_else(|| {
        UpstreamError::Misconfigured("fetch_userinfo is on but it has no userinfo_endpoint".into())
    })?;
    let signed_alg = provider.userinfo_alg()?;
    let accept = if signed_alg.is_some() {
        "application/jwt"
    } else {
        "application/json"
    };
    let answer = state
        .outbound
        .send(
            endpoints.origin_of(url),
            reqwest::Method::GET,
            url.as_str(),
            RESPONSE_LIMIT,
            |r| {
                r.bearer_auth(access_token)
                    .header(reqwest::header::ACCEPT, accept)
            },
        )
        .await
        .map_err(|e| UpstreamError::Unreachable(format!("its userinfo endpoint: {e}")))?;
    if !answer.status.is_success() {
        return Err(fail(format!(
            "its userinfo endpoint answered {}",
            answer.status
        )));
    }
    let is_jwt = answer
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("application/jwt"));
    let claims = if is_jwt || signed_alg.is_some() {
        let text = std::str::from_utf8(&answer.body)
            .map_err(|_| fail("the signed answer is not text".into()))?
            .trim();
        let alg = signed_alg.unwrap_or(provider.id_token_alg()?);
        let claims = verify_signed(state, provider, endpoints, text, alg, "userinfo")
            .await
            .map_err(fail)?;
        // §5.3.2: a signed answer should carry iss and aud; check them when present.
        if claims.contains_key("iss") || claims.contains_key("aud") {
            check_issuer_and_audience(
                &claims,
                endpoints.issuer.as_deref(),
                &provider.config.client_id,
            )
            .map_err(fail)?;
        }
        claims
    } else {
        match serde_json::from_slice(&answer.body) {
            Ok(Value::Object(claims)) => claims,
            _ => return Err(fail("the answer is not a JSON object".into())),
        }
    };
    if let Some(expected) = id_token_subject {
        if claims.get("sub").and_then(Value::as_str) != Some(expected) {
            return Err(fail(
                "its sub is not the ID token's: it describes someone else".into(),
            ));
        }
    }
    Ok(claims)
}
