//! The bad-input sweep: every route the router serves ([`ROUTES`], checked
//! against the `.route(` calls of the source) gets every hostile request of
//! [`inputs`] with every method, anonymous and with a logged-in browser
//! cookie, a valid client and a valid token, on SQLite and on PostgreSQL.
//! No answer may be a 5xx or show SQL, file paths or a stack trace.
//! [`socket`] sends what only a real connection can (1 MB headers, slow
//! bodies).

mod context;
mod inputs;
mod socket;

use std::collections::BTreeSet;

use axum::http::Method;

use crate::{
    test_support::{postgres_state, send, test_state, TestResponse},
    urls::paths,
};
use context::Context;

/// Every route of every resource, relative to the listener's prefix. A new
/// route must be added here: [`every_served_route_is_swept`] fails until it
/// is. Routes that use up a token or end a session come after those that
/// read them, so that most requests carry live credentials.
pub const ROUTES: &[&str] = &[
    paths::HEALTH,
    paths::METRICS,
    paths::DISCOVERY,
    paths::WEBFINGER,
    paths::JWKS,
    paths::INTROSPECT,
    paths::USERINFO,
    paths::REGISTRATION,
    paths::TOKEN,
    paths::AUTHORIZE,
    paths::LOGIN,
    paths::CONSENT,
    paths::ACCOUNT,
    paths::ACCOUNT_NO_SLASH,
    paths::ACCOUNT_EMAILS,
    paths::ACCOUNT_EMAIL_ADD,
    paths::ACCOUNT_EMAIL_VERIFY,
    paths::ACCOUNT_PASSWORD,
    paths::ACCOUNT_CROSS_SIGNING_RESET,
    paths::CHANGE_PASSWORD,
    paths::API_SPEC,
    paths::API_DOC,
    paths::REGISTER,
    paths::REGISTER_PASSWORD,
    paths::REGISTER_VERIFY_EMAIL,
    paths::REGISTER_TOKEN,
    paths::REGISTER_DISPLAY_NAME,
    paths::REGISTER_FINISH,
    paths::RECOVER,
    paths::RECOVER_PROGRESS,
    paths::ACCOUNT_PASSWORD_RECOVERY,
    paths::COMPLETE_COMPAT_SSO,
    paths::COMPAT_LOGIN,
    paths::COMPAT_SSO_REDIRECT,
    paths::COMPAT_SSO_REDIRECT_IDP,
    paths::COMPAT_REFRESH,
    paths::COMPAT_LOGOUT,
    paths::COMPAT_LOGOUT_ALL,
    paths::UPSTREAM_AUTHORIZE,
    paths::UPSTREAM_CALLBACK,
    paths::UPSTREAM_LINK,
    paths::UPSTREAM_BACKCHANNEL_LOGOUT,
    paths::REVOKE,
    // The admin console (the sweep's browser is an admin): reads first,
    // then the changes.
    paths::ADMIN,
    paths::ADMIN_USER,
    paths::ADMIN_REGISTRATION_TOKENS,
    paths::ADMIN_USER_EMAILS,
    paths::ADMIN_USER_EMAIL_REMOVE,
    paths::ADMIN_USER_PASSWORD,
    paths::ADMIN_USER_ADMIN_RIGHTS,
    paths::ADMIN_USER_TOKENS,
    paths::ADMIN_USER_TOKEN_REVOKE,
    paths::ADMIN_USER_LOCK,
    paths::ADMIN_USER_UNLOCK,
    paths::ADMIN_USER_SESSION_END,
    paths::ADMIN_USER_SESSIONS_END_ALL,
    paths::ADMIN_USER_DEACTIVATE,
    paths::ADMIN_USER_REACTIVATE,
    paths::ADMIN_REGISTRATION_TOKEN_REVOKE,
    paths::ADMIN_REGISTRATION_TOKEN_UNREVOKE,
    // Ends the session of an id, then every session but the browser's.
    paths::ACCOUNT_SESSION,
    paths::ACCOUNT_SESSIONS,
    paths::LOGOUT,
    // Deactivates the account of a logged-in browser: last of all.
    paths::ACCOUNT_DEACTIVATE,
];

pub const METHODS: &[Method] = &[
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
    Method::HEAD,
];

/// What must never be in an answer: database text, source paths, panics.
/// Matched case-sensitively, and each holds a character or a length no
/// random token has, so a token never looks like a leak.
const LEAKS: &[&str] = &[
    "sqlx::",
    "error returned from database",
    "SQLITE_",
    "sqlite3",
    "PostgreSQL",
    "postgres://",
    "postgresql://",
    "syntax error",
    "violates ",
    "constraint \"",
    "SELECT ",
    "INSERT INTO",
    "DELETE FROM",
    "UPDATE ",
    "/src/",
    ".rs:",
    "panicked at",
    "stack backtrace",
    "/root/",
    "/home/",
    "/tmp/",
];

/// The reasons an answer fails the sweep, if any: a 5xx or a
/// `server_error` sent to the client's redirect URI, a leak, or a refusal in
/// plain text (an extractor's, not said in the route's dialect).
/// Whether `text` holds the error code `server_error` as a word (not
/// inside another name, such as a metric's `homeserver_errors`).
fn names_server_error(text: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices("server_error").any(|(at, found)| {
        let before = text[..at].chars().next_back();
        let after = text[at + found.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

pub fn judge(response: &TestResponse) -> Option<String> {
    if response.status >= 500 {
        return Some(format!(
            "status {}: {}",
            response.status,
            excerpt(&response.body)
        ));
    }
    // The authorization endpoint reports its own failures at the client's
    // redirect URI (RFC 6749 §4.1.2.1 `server_error`), not in the status.
    let location = response.header("location").unwrap_or_default();
    if names_server_error(&location) || names_server_error(&response.body) {
        return Some(format!(
            "status {} reports server_error: {location} {}",
            response.status,
            excerpt(&response.body)
        ));
    }
    let plain = response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain"));
    // The router's own 404 for paths it does not serve is plain text.
    if plain && response.status >= 400 && response.status != 404 {
        return Some(format!(
            "status {} in plain text, not the route's dialect: {}",
            response.status,
            excerpt(&response.body)
        ));
    }
    LEAKS
        .iter()
        .find(|leak| response.body.contains(*leak))
        .map(|leak| {
            format!(
                "status {} shows {leak:?}: {}",
                response.status,
                excerpt(&response.body)
            )
        })
}

fn excerpt(body: &str) -> String {
    body.chars().take(300).collect()
}

/// Sends every probe to every route and returns the failures, one line
/// each (`METHOD path [input] reason`), and how many requests were sent.
async fn sweep(ctx: &Context) -> (Vec<String>, usize) {
    let mut run = Run::default();
    // The admin API first: ROUTES ends with the routes that sign out and
    // deactivate the logged-in browser.
    let routes: Vec<String> = admin_routes()
        .into_iter()
        .chain(ROUTES.iter().map(|r| r.to_string()))
        .collect();
    for route in &routes {
        let route = route.as_str();
        let paths = ctx.paths_of(route);
        let (live, junk) = paths.split_first().unwrap();
        let mut allowed = Vec::new();
        for method in METHODS {
            for probe in inputs::generic(ctx, route, live, method) {
                let status = run.send_as_each(ctx, route, probe).await;
                if status != 405 && !allowed.contains(method) {
                    allowed.push(method.clone());
                }
            }
        }
        for method in allowed
            .iter()
            .filter(|m| [Method::GET, Method::POST].contains(m))
        {
            for probe in inputs::targeted_form(ctx, live, method) {
                run.send_as_each(ctx, route, probe).await;
            }
        }
        let reads_json = route.starts_with("/_matrix/")
            || route.starts_with("/api/admin/")
            || route == paths::REGISTRATION;
        if reads_json && allowed.contains(&Method::POST) {
            for probe in inputs::targeted_json(ctx, route, live) {
                run.send_as_each(ctx, route, probe).await;
            }
        }
        for path in junk {
            for method in &allowed {
                for probe in inputs::generic(ctx, route, path, method)
                    .into_iter()
                    .take(3)
                {
                    run.send_as_each(ctx, route, probe).await;
                }
            }
        }
        if !run.served {
            run.failures
                .push(format!("{route}: every request got the router's 404"));
        }
        run.served = false;
    }
    (run.failures, run.sent)
}

#[derive(Default)]
struct Run {
    failures: Vec<String>,
    sent: usize,
    /// Whether any answer for the current route came from a handler.
    served: bool,
}

impl Run {
    /// Sends a probe anonymously and as the logged-in user; returns the
    /// anonymous answer's status.
    async fn send_as_each(&mut self, ctx: &Context, route: &str, probe: inputs::Probe) -> u16 {
        let mut first = None;
        for probe in inputs::as_each_caller(ctx, route, probe) {
            let response = send(&ctx.router, probe.request()).await;
            self.sent += 1;
            self.served |= response.status != 404 || response.body != "Not found\n";
            if let Some(reason) = judge(&response) {
                let target = probe.target();
                self.failures
                    .push(format!("{target} [{}] {reason}", probe.label));
            }
            first.get_or_insert(response.status);
        }
        first.unwrap_or_default()
    }
}

async fn sweep_state(state: crate::state::AppState) {
    let ctx = Context::new(state).await;
    let (failures, sent) = sweep(&ctx).await;
    eprintln!("sweep: {sent} requests");
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed the sweep:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn bad_input_sweep_on_sqlite() {
    sweep_state(test_state().await.state).await;
}

/// Skipped, with a line on stderr, when `DATABASE_URL` is unset outside CI.
#[tokio::test]
async fn bad_input_sweep_on_postgres_when_database_url_is_set() {
    if let Some((t, pg)) = postgres_state().await {
        sweep_state(t.state).await;
        pg.drop_schema().await;
    }
}

/// The routes of the source: the first argument of every `.route(` call
/// outside the tests, with `paths::X` read from `urls.rs`.
fn routes_in_source() -> BTreeSet<String> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let urls = std::fs::read_to_string(src.join("urls.rs")).unwrap();
    let constant = |name: &str| {
        let declaration = format!("pub const {name}: &str = \"");
        let start = urls.find(&declaration).map(|i| i + declaration.len());
        let start = start.unwrap_or_else(|| panic!("paths::{name} is not in urls.rs"));
        urls[start..].split('"').next().unwrap().to_owned()
    };
    let mut routes = BTreeSet::new();
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, _) in text.match_indices(".route(") {
            let argument = text[i + ".route(".len()..]
                .split(',')
                .next()
                .unwrap()
                .trim();
            let route = match argument.strip_prefix("paths::") {
                Some(name) => constant(name),
                None if argument.starts_with('"') => argument.trim_matches('"').to_owned(),
                None => panic!("{}: cannot read the route {argument}", file.display()),
            };
            routes.insert(route);
        }
    }
    routes
}

fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "tests" || name.ends_with("tests.rs") || name == "sweep" {
            continue;
        }
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if name.ends_with(".rs") {
            files.push(path);
        }
    }
    files
}

/// The admin API's routes, from its OpenAPI document (they are routed by
/// the same annotations, not by `.route(` calls).
fn admin_routes() -> Vec<String> {
    let (_, document) = crate::handlers::admin::v1::routes();
    document.paths.paths.keys().cloned().collect()
}

#[test]
fn every_served_route_is_swept() {
    let served = routes_in_source();
    let swept: BTreeSet<String> = ROUTES.iter().map(|r| r.to_string()).collect();
    assert!(
        !admin_routes().is_empty(),
        "the admin API's routes are swept too"
    );
    let missing: Vec<_> = served.difference(&swept).collect();
    assert!(
        missing.is_empty(),
        "add these routes to sweep::ROUTES: {missing:?}"
    );
    let stale: Vec<_> = swept.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "sweep::ROUTES has routes nothing serves: {stale:?}"
    );
}

#[test]
fn server_error_is_found_as_a_word_only() {
    assert!(names_server_error(
        "https://app/cb?error=server_error&state=x"
    ));
    assert!(names_server_error(r#"{"error":"server_error"}"#));
    assert!(!names_server_error("mxauth_homeserver_errors_total 1"));
    assert!(!names_server_error("no error here"));
}
