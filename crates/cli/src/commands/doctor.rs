//! `mxauth doctor`: checks that mxauth, the homeserver and the reverse proxy
//! fit together, printing a ✅ or ❌ line per check and, for each ❌, what to
//! fix. The checks are those the matrix-docker-ansible-deploy playbook
//! documents for `mas-cli doctor`, and the email transport (an SMTP
//! handshake without sending anything, or the sendmail command's file).

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use anyhow::Result;
use mxauth_config::RootConfig;
use mxauth_server::email::{LettreMailer, Mailer, TransportSettings};
use serde_json::Value;

use super::Context;
use crate::resolve;

struct Report {
    failures: usize,
}

impl Report {
    fn ok(&self, line: impl AsRef<str>) {
        println!("✅ {}", line.as_ref());
    }

    fn fail(&mut self, line: impl AsRef<str>, fix: impl AsRef<str>) {
        self.failures += 1;
        println!("❌ {}\n   Fix: {}", line.as_ref(), fix.as_ref());
    }

    fn note(&self, line: impl AsRef<str>) {
        println!("💡 {}", line.as_ref());
    }
}

/// Where the homeserver's `.well-known/matrix/client` lives: https on the
/// server name, except for a local development server name (localhost or
/// 127.0.0.1, with or without a port), which is reached over http.
pub fn well_known_url(server_name: &str) -> String {
    let host = server_name.rsplit_once(':').map_or(server_name, |(h, _)| h);
    let scheme = if matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{server_name}/.well-known/matrix/client")
}

async fn get(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Result<(u16, Value), String> {
    let mut request = http.get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

pub async fn run(ctx: &Context) -> Result<ExitCode> {
    let config = &ctx.config;
    let secret = resolve::matrix_secret(&config.matrix)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut report = Report { failures: 0 };
    println!("💡 Running diagnostics; mxauth and the homeserver should both be running, with the configuration this command reads.");

    let issuer = config.issuer().as_str();
    if issuer.starts_with("https://") {
        report.ok(format!("The issuer {issuer:?} uses https"));
    } else {
        report.fail(format!("The issuer {issuer:?} is not https"), "set http.public_base (and http.issuer) to the public https:// URL of mxauth; Matrix clients refuse plain http");
    }

    let server_name = &config.matrix.homeserver;
    let well_known = well_known_url(server_name);
    let mut public_base: Option<String> = None;
    match get(&http, &well_known, None).await {
        Ok((200, doc)) => match doc["m.homeserver"]["base_url"].as_str() {
            Some(base) => {
                public_base = Some(base.trim_end_matches('/').to_owned());
                let auth = &doc["org.matrix.msc2965.authentication"]["issuer"];
                if auth.is_string() {
                    report.ok(format!("Matrix client well-known at {well_known:?} is valid"));
                } else {
                    report.fail(format!("Matrix client well-known at {well_known:?} does not announce the authentication service"), "make sure Synapse has matrix_authentication_service enabled (Synapse adds org.matrix.msc2965.authentication itself)");
                }
            }
            None => report.fail(format!("Matrix client well-known at {well_known:?} has no m.homeserver.base_url"), "serve {\"m.homeserver\": {\"base_url\": \"https://matrix.example.com\"}} there"),
        },
        Ok((status, _)) => report.fail(format!("Matrix client well-known at {well_known:?} answered {status}"), "serve /.well-known/matrix/client on the server name's domain (Synapse does it when serve_server_wellknown or a reverse proxy is set up)"),
        Err(e) => report.fail(format!("Matrix client well-known at {well_known:?} is unreachable: {e}"), "check DNS and the reverse proxy of the server name's domain"),
    }

    let endpoint = config
        .matrix
        .endpoint
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let versions = format!("{endpoint}/_matrix/client/versions");
    match get(&http, &versions, None).await {
        Ok((200, _)) => report.ok(format!("Homeserver is reachable at {versions:?}")),
        Ok((status, _)) => report.fail(format!("Homeserver at {versions:?} answered {status}"), "check matrix.endpoint: it must be the homeserver's client API, e.g. http://localhost:8008/"),
        Err(e) => report.fail(format!("Homeserver is not reachable at {versions:?}: {e}"), "check matrix.endpoint and that the homeserver runs"),
    }

    let whoami = format!("{endpoint}/_matrix/client/v3/account/whoami");
    match get(&http, &whoami, Some("mxauth-doctor-bogus-token")).await {
        Ok((401, _)) => report.ok(format!("Homeserver at {whoami:?} is reachable, and it correctly rejected an invalid token")),
        Ok((503, _)) => report.fail(format!("Homeserver at {whoami:?} answered 503: it cannot reach mxauth to check tokens"), "set matrix_authentication_service.endpoint in Synapse's config to a URL where Synapse reaches mxauth's oauth resource, and make sure both secrets match"),
        Ok((status, _)) => report.fail(format!("Homeserver at {whoami:?} answered {status} to an invalid token"), "enable matrix_authentication_service in Synapse's configuration (Synapse 1.136 or newer)"),
        Err(e) => report.fail(format!("Homeserver at {whoami:?} is unreachable: {e}"), "check matrix.endpoint"),
    }

    // Authenticated but without the required parameter: 400 means the
    // secret was accepted.
    let mas_api = format!("{endpoint}/_synapse/mas/is_localpart_available");
    match get(&http, &mas_api, Some(&secret)).await {
        Ok((400, _)) => report.ok(format!("The homeserver's auth service API at {mas_api:?} accepts the shared secret")),
        Ok((403, _)) => report.fail(format!("The homeserver's auth service API at {mas_api:?} refused the shared secret"), "matrix.secret must equal matrix_authentication_service.secret in Synapse's configuration"),
        Ok((404, _)) => report.fail(format!("The homeserver has no auth service API at {mas_api:?}"), "enable matrix_authentication_service in Synapse's configuration (Synapse 1.136 or newer)"),
        Ok((status, _)) => report.fail(format!("The homeserver's auth service API at {mas_api:?} answered {status}"), "check matrix.endpoint and Synapse's logs"),
        Err(e) => report.fail(format!("The homeserver's auth service API at {mas_api:?} is unreachable: {e}"), "check matrix.endpoint"),
    }

    match public_base {
        Some(base) => {
            let login = format!("{base}/_matrix/client/v3/login");
            match get(&http, &login, None).await {
                Ok((200, doc)) if doc["flows"].is_array() => report.ok(format!("The legacy login API at {login:?} is reachable and is handled by mxauth")),
                Ok((404, _)) => report.fail(format!("The legacy login API at {login:?} is answered by the homeserver, not by mxauth"), "route /_matrix/client/*/login, /logout and /refresh of the homeserver's domain to mxauth's compat resource in the reverse proxy"),
                Ok((status, _)) => report.fail(format!("The legacy login API at {login:?} answered {status}"), "route /_matrix/client/*/login, /logout and /refresh to mxauth"),
                Err(e) => report.fail(format!("The legacy login API at {login:?} is unreachable: {e}"), "check the reverse proxy"),
            }
        }
        None => report.fail(
            "The legacy login API could not be checked: the well-known gave no homeserver URL",
            "fix the well-known first",
        ),
    }

    check_email(config, &mut report).await;

    if report.failures == 0 {
        println!("All checks passed.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} check(s) failed.", report.failures);
        Ok(ExitCode::FAILURE)
    }
}

/// The email transport: SMTP is greeted (connect, `EHLO`, TLS as
/// configured, `AUTH` when credentials are set, `NOOP`, `QUIT`) and no
/// message is sent; sendmail's command must be an executable file.
async fn check_email(config: &RootConfig, report: &mut Report) {
    let settings = match resolve::mailer_settings(config) {
        Ok(settings) => settings,
        Err(e) => {
            return report.fail(
                format!("The email settings are invalid: {e:#}"),
                "fix the email section (`mxauth config check` names the key)",
            )
        }
    };
    let (mode_hint, authenticates) = match &settings.transport {
        TransportSettings::Blackhole => {
            return report.note("email.transport is blackhole: no email is sent; verification codes are logged at WARN with the user and the address");
        }
        TransportSettings::Sendmail { command } => {
            return match find_command(command) {
                Some(path) => report.ok(format!(
                    "The sendmail command {command:?} is {} (not run: that would send a message)",
                    path.display()
                )),
                None => report.fail(
                    format!("The sendmail command {command:?} is not an executable file{}", if command.contains('/') { "" } else { " on PATH" }),
                    "install a sendmail (postfix, msmtp-mta, nullmailer…) or set email.command to its full path",
                ),
            };
        }
        TransportSettings::Smtp { credentials, .. } => (
            "port 465 wants mode tls, 587 starttls, 25 plain",
            credentials.is_some(),
        ),
    };
    let mailer = match LettreMailer::new(settings) {
        Ok(mailer) => mailer,
        Err(e) => {
            return report.fail(
                format!("The SMTP transport cannot be set up: {e}"),
                "check email.hostname",
            )
        }
    };
    let what = mailer.describe();
    match mailer.probe().await {
        Ok(()) if authenticates => report.ok(format!("The mail server {what} answers and accepted the credentials (no message sent)")),
        Ok(()) => report.ok(format!("The mail server {what} answers (no message sent)")),
        Err(e) => report.fail(
            format!("The mail server does not work: {e}"),
            format!("check email.hostname, email.port and email.mode ({mode_hint}), and email.username and the password; until it works, verification codes are logged at WARN"),
        ),
    }
}

/// The file `command` runs: itself when it names a path, else the first
/// executable of that name on `PATH`.
fn find_command(command: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if command.contains('/') {
        let path = PathBuf::from(command);
        return executable(&path).then_some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(command))
        .find(|path| executable(path))
}

#[cfg(test)]
mod tests {
    use super::{find_command, well_known_url};

    #[test]
    fn sendmail_commands_are_found_by_path_or_on_path() {
        assert_eq!(find_command("sh").map(|p| p.is_file()), Some(true));
        assert_eq!(find_command("/bin/sh"), Some("/bin/sh".into()));
        assert_eq!(find_command("mxauth-no-such-sendmail"), None);
        assert_eq!(find_command("/etc/passwd"), None, "not executable");
        assert_eq!(find_command("/nonexistent/sendmail"), None);
    }

    #[test]
    fn local_server_names_use_http() {
        assert_eq!(
            well_known_url("example.com"),
            "https://example.com/.well-known/matrix/client"
        );
        assert_eq!(
            well_known_url("localhost"),
            "http://localhost/.well-known/matrix/client"
        );
        assert_eq!(
            well_known_url("127.0.0.1:8448"),
            "http://127.0.0.1:8448/.well-known/matrix/client"
        );
        assert_eq!(
            well_known_url("matrix.org:443"),
            "https://matrix.org:443/.well-known/matrix/client"
        );
    }
}
