//! One log line per request, written when the response is ready: method,
//! path, status, duration, user agent. The query string is left out because
//! it can carry secrets (authorization codes, login tokens).

use std::time::Instant;

use axum::{extract::Request, http::header::USER_AGENT, middleware::Next, response::Response};

pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let user_agent = request
        .headers()
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                target: "mxauth::request",
                elapsed_ms = format_args!("{elapsed_ms:.1}"),
                %user_agent,
                "{method} {path} {status}"
            )
        };
    }
    match status {
        500.. => line!(error),
        400..=499 => line!(warn),
        _ => line!(info),
    }
    response
}
