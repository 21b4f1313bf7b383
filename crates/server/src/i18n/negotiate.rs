//! Choosing the language of a request from its `Accept-Language` header
//! (RFC 9110 §12.5.4), and the middleware that sets it for the handler,
//! the templates and the error pages.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};

use super::{Locale, Translations};

/// The language ranges of an `Accept-Language` value, most wanted first
/// (by `q`, then in the order sent); ranges with `q=0` ("not acceptable")
/// and malformed entries are left out.
pub fn ranges(header: &str) -> Vec<&str> {
    let mut weighted: Vec<(&str, u16)> = header
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let range = parts.next()?.trim();
            if range.is_empty() {
                return None;
            }
            let mut q = 1000;
            for param in parts {
                let (name, value) = param.split_once('=')?;
                if name.trim().eq_ignore_ascii_case("q") {
                    q = qvalue(value.trim())?;
                }
            }
            (q > 0).then_some((range, q))
        })
        .collect();
    // A stable sort keeps the sender's order among equal weights.
    weighted.sort_by_key(|(_, q)| std::cmp::Reverse(*q));
    weighted.into_iter().map(|(range, _)| range).collect()
}

/// A `qvalue` (RFC 9110 §12.4.2: 0 to 1, three decimals at most) in
/// thousandths.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

impl Translations {
    /// The language a request with this `Accept-Language` gets: the most
    /// wanted one that is available (`fr-CA` takes `fr`); English when
    /// none is, when `*` comes first, or without the header.
    pub fn negotiate(&self, accept_language: Option<&str>) -> Locale {
        let ranges = accept_language.map(ranges).unwrap_or_default();
        ranges
            .into_iter()
            .find_map(|range| match range {
                "*" => Some(self.english()),
                range => self.find(range),
            })
            .unwrap_or(self.english())
            .clone()
    }
}

/// The middleware: the request's language is current while the rest of
/// the stack answers it. HTML answers say which language they are in, and
/// that the answer depends on the header.
pub async fn layer(
    State(translations): State<Arc<Translations>>,
    request: Request,
    next: Next,
) -> Response {
    let accept = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let locale = translations.negotiate(accept);
    let tag = HeaderValue::from_str(locale.tag()).ok();
    let mut response = super::scope(locale, next.run(request)).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        let headers = response.headers_mut();
        headers.append(header::VARY, HeaderValue::from_static("accept-language"));
        if let Some(tag) = tag {
            headers.insert(header::CONTENT_LANGUAGE, tag);
        }
    }
    response
}
