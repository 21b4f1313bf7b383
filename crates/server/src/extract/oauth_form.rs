//! [`OAuthForm`]: the `application/x-www-form-urlencoded` body of an OAuth
//! endpoint as a map of parameters, refusing any parameter sent twice
//! (RFC 6749 §3.1 and §3.2: "parameters MUST NOT be included more than
//! once"), with the OAuth error body.

use std::collections::HashMap;

use axum::{
    extract::{FromRequest, Request},
    response::{IntoResponse, Response},
    Form,
};

use crate::errors::OAuthError;

/// The parameters of an OAuth request, each present once.
pub type OAuthParams = HashMap<String, String>;

/// The form body of an OAuth endpoint. A body axum cannot read as a form is
/// refused with axum's answer (the text guard says it again in the OAuth
/// dialect); a repeated parameter is `invalid_request` naming it.
#[derive(Debug)]
pub struct OAuthForm(pub OAuthParams);

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        form_params(pairs)
            .map(Self)
            .map_err(IntoResponse::into_response)
    }
}

/// Turns form or query pairs into a map, refusing repeated parameters
/// (RFC 6749 §3.1, §3.2: "MUST NOT be included more than once").
pub fn form_params(pairs: Vec<(String, String)>) -> Result<OAuthParams, OAuthError> {
    let mut map = HashMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        if map.contains_key(&name) {
            return Err(OAuthError::invalid_request(format!(
                "the parameter {name} appears more than once"
            )));
        }
        map.insert(name, value);
    }
    Ok(map)
}
