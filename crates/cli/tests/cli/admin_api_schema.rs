//! The admin API against its own OpenAPI document, by schemathesis (from
//! PyPI, pinned in tests/peers/schemathesis.requirements.txt, installed by
//! tests/peers/setup_schemathesis.sh): a real `mxauth server` on SQLite and
//! on PostgreSQL, an admin client of the configuration with a
//! `client_credentials` token, a few users and registration tokens, then
//! `st run /api/spec.json` as tests/peers/schemathesis.toml says: valid and
//! invalid data, every check. Any server error (5xx), answer that breaks
//! the document (status, content type, headers, body), valid request
//! refused or invalid one accepted fails the test with schemathesis's
//! report. Outside CI a missing virtualenv skips it with a
//! line on the terminal; under `CI=true` it fails.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use crate::support::*;

/// A static client of the configuration (ids of static clients are ULIDs),
/// listed in `policy.data.admin_clients`.
const CLIENT_ID: &str = "01JADM1NSCHEMA0000000000ST";
const CLIENT_SECRET: &str = "schemathesis-admin-secret";
/// An upstream provider of the configuration, for the provider and link
/// operations (never contacted).
const PROVIDER_ID: &str = "01JADM1NSCHEMAPR0V1DER0000";

/// How schemathesis runs (modes, phases, every check, the number of cases,
/// which warnings fail): one file, so that a person can run the same by hand.
fn config_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/schemathesis.toml")
}

/// Where setup_schemathesis.sh made the virtualenv:
/// `$MXAUTH_SCHEMATHESIS_VENV`, by default
/// `~/.cache/mxauth-peers/schemathesis-venv`; `None` (said on the
/// terminal) when it is missing outside CI.
fn venv() -> Option<PathBuf> {
    let path = std::env::var_os("MXAUTH_SCHEMATHESIS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/mxauth-peers/schemathesis-venv")
        });
    let works = Command::new(path.join("bin/st"))
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but schemathesis is not installed in {}: .ci/run installs it with tests/peers/setup_schemathesis.sh",
        path.display()
    );
    skip_notice(&format!(
        "no schemathesis in {0}, so the admin API was not checked against its schema (install it with `VENV={0} bash tests/peers/setup_schemathesis.sh`, as .ci/run does, or set MXAUTH_SCHEMATHESIS_VENV)",
        path.display()
    ));
    None
}

/// `manage …` with the test's configuration; it must succeed.
fn manage(files: &[PathBuf], args: &[&str]) {
    run(with_configs(&mut mxauth(), files).arg("manage").args(args)).succeeded();
}

/// Users in each state the list filters on, with email addresses, and
/// registration tokens (single use, limited and expiring, unlimited), so
/// that schemathesis reads real resources as well as missing ones (the
/// upstream provider comes from the configuration).
fn seed(files: &[PathBuf]) {
    for user in ["alice", "bob", "carol", "dave"] {
        manage(
            files,
            &[
                "register-user",
                user,
                "-p",
                "correct horse battery staple",
                "-y",
                "--ignore-homeserver-check",
            ],
        );
    }
    manage(files, &["promote-admin", "alice"]);
    manage(files, &["add-email", "alice", "alice@example.com"]);
    manage(files, &["add-email", "bob", "bob@example.com"]);
    manage(files, &["lock-user", "carol"]);
    manage(files, &["lock-user", "dave", "--deactivate"]);
    manage(files, &["issue-user-registration-token"]);
    manage(
        files,
        &[
            "issue-user-registration-token",
            "--token",
            "spring-2027",
            "--usage-limit",
            "5",
            "--expires-in",
            "3600",
        ],
    );
    manage(files, &["issue-user-registration-token", "--unlimited"]);
}

/// A `client_credentials` access token with `urn:mas:admin`: the admin
/// client works.
async fn admin_token(server: &RunningServer) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}oauth2/token", server.base()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "urn:mas:admin"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// `st run` against the server's document, in `dir` (where schemathesis
/// writes its report); the exit code and everything it printed. It gets
/// its admin token from the token endpoint itself (see the config file).
fn schemathesis(venv: &Path, dir: &Path, server: &RunningServer) -> (i32, String) {
    let output = Command::new(venv.join("bin/st"))
        .current_dir(dir)
        .arg("--config-file")
        .arg(config_file())
        .arg("run")
        .arg(format!("{}api/spec.json", server.base()))
        .args(["--no-color", "--output-truncate", "false"])
        .env("MXAUTH_ADMIN_CLIENT_ID", CLIENT_ID)
        .env("MXAUTH_ADMIN_CLIENT_SECRET", CLIENT_SECRET)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .expect("run schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

/// How many operations the served document has.
async fn operations(server: &RunningServer) -> usize {
    let text = reqwest::get(format!("{}api/spec.json", server.base()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
    spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum()
}

async fn admin_api_matches_its_schema(db: TestDatabase) {
    let Some(venv) = venv() else { return };
    let extra = format!(
        "upstream_oauth2:\n  providers:\n    - id: {PROVIDER_ID}\n      issuer: https://sso.example.com/\n      client_id: matrix\n      client_secret: upstream-secret\n      token_endpoint_auth_method: client_secret_post\n      scope: openid\nclients:\n  - client_id: {CLIENT_ID}\n    client_auth_method: client_secret_post\n    client_secret: {CLIENT_SECRET}\npolicy:\n  data:\n    admin_clients: [{CLIENT_ID}]\nmatrix:\n  homeserver: example.com\n  endpoint: \"{}\"\n",
        fake_synapse(&["mallory"])
    );
    let (files, port) = server_config("admin-schema", &db, &extra);
    // The same listener serves the admin API, next to `oauth` for the token.
    let listener = std::fs::read_to_string(&files[1])
        .unwrap()
        .replace("{name: health}]", "{name: health}, {name: adminapi}]");
    std::fs::write(&files[1], listener).unwrap();
    run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).succeeded();
    run(with_configs(&mut mxauth(), &files).args(["config", "sync"])).succeeded();
    seed(&files);

    let server = start_server(files.clone(), port);
    // The admin client works before schemathesis uses it.
    admin_token(&server).await;
    let operations = operations(&server).await;
    let dir = files[0].parent().unwrap();
    let started = Instant::now();
    let (code, report) = schemathesis(&venv, dir, &server);
    let took = started.elapsed();
    drop(server);
    db.drop_database().await;

    assert_eq!(
        code, 0,
        "schemathesis found answers that break /api/spec.json (exit {code}):\n{report}"
    );
    // It really tested every operation of the document.
    assert!(operations >= 17, "{operations} operations");
    assert!(
        report.contains(&format!("Selected: {operations}/{operations}"))
            && report.contains(&format!("Tested: {operations}")),
        "{report}"
    );
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("schemathesis: {operations} admin API operations conform ({took:.0?})\n")
            .as_bytes(),
    );
}

/// Runs the test on SQLite and on PostgreSQL, as `…::sqlite` and `…::postgres`.
mod admin_api_matches_its_schema {
    use crate::support::*;

    #[tokio::test]
    async fn sqlite() {
        super::admin_api_matches_its_schema(TestDatabase::sqlite(&temp_dir("sqlite"))).await;
    }

    #[tokio::test]
    async fn postgres() {
        if let Some(db) = TestDatabase::postgres().await {
            super::admin_api_matches_its_schema(db).await;
        }
    }
}
