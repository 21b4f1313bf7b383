//! [`CsrfForm`]: the form a page posted, accepted only when its `csrf` field
//! matches the token in the browser's cookie, so another site cannot post
//! it on the person's behalf. A mismatch renders the "form has expired"
//! page (403).

use axum::{
    extract::{FromRequest, Request},
    response::{IntoResponse, Response},
    Form,
};
use serde::de::DeserializeOwned;

use crate::{cookies::CookieData, errors::PageError, state::AppState};

/// A page form with a CSRF field.
pub trait CsrfProtected {
    /// The token the page put in the form.
    fn csrf(&self) -> &str;
}

/// A posted form whose CSRF token matched, with the cookie it matched.
pub struct CsrfForm<T> {
    pub cookie: CookieData,
    pub form: T,
}

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: DeserializeOwned + CsrfProtected + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let cookie = state.cookies.read(request.headers());
        let Form(form) = Form::<T>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !cookie.check_csrf(form.csrf(), state.clock.now()) {
            return Err(PageError::expired_form().into_response());
        }
        Ok(Self { cookie, form })
    }
}
