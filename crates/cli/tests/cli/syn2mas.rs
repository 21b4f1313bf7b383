//! `mxauth syn2mas` against databases made by a real Synapse.
//!
//! - From SQLite, built through Synapse's own APIs: users with passwords,
//!   an admin, a deactivated user, emails, devices with and without refresh
//!   tokens, an SSO user. A dry run changes nothing; a run stopped after its
//!   first batch and run again gives the same data as a clean run; then
//!   Synapse delegates to mxauth and every password, the old tokens and the
//!   admin's rights still work, and the deactivated user stays out.
//! - From PostgreSQL, a database with Synapse's schema filled by
//!   bench/syn2mas/generate_synapse_db.py: the import is complete and an
//!   imported token is active at mxauth's introspection.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::{support::*, synapse_peer::*};

const MAPPING: &str = "oidc-test:01HFVBY12TMNTYTBV8W921M5FA";

/// The target's configuration: Synapse's password scheme, and the upstream
/// provider that [`MAPPING`] names (a mapping to a provider nobody
/// configured is refused).
fn mxauth_overrides(server_name: &str) -> String {
    format!(
        "matrix:\n  homeserver: \"{server_name}\"\npasswords:\n  minimum_complexity: 0\n  schemes:\n    - {{version: 1, algorithm: bcrypt, unicode_normalization: true}}\n    - {{version: 2, algorithm: argon2id}}\nupstream_oauth2:\n  providers:\n    - {{id: 01HFVBY12TMNTYTBV8W921M5FA, issuer: \"https://id.example.com/\", client_id: mxauth, token_endpoint_auth_method: none}}\n"
    )
}

/// `mxauth syn2mas --synapse-config SYNAPSE_CONFIG ARGS…` with `files`.
pub fn syn2mas(files: &[PathBuf], synapse_config: &Path, args: &[&str]) -> Run {
    run(with_configs(&mut mxauth(), files)
        .arg("syn2mas")
        .arg("--synapse-config")
        .arg(synapse_config)
        .args(args))
}

/// Everything the import wrote, as sorted text lines (ids left out: they
/// are random), so two targets can be compared.
async fn snapshot(db: &TestDatabase) -> Vec<String> {
    let database = db.open().await;
    let mxauth_storage::Database::Sqlite(pool, _) = &database else {
        unreachable!("compared on SQLite")
    };
    let mut lines = Vec::new();
    for sql in [
        "SELECT 'user ' || username || ' locked=' || (locked_at IS NOT NULL) || ' deactivated=' || (deactivated_at IS NOT NULL) || ' admin=' || can_request_admin || ' created=' || created_at FROM users",
        "SELECT 'password ' || u.username || ' ' || p.hashed_password || ' v' || p.version FROM user_passwords p JOIN users u USING (user_id)",
        "SELECT 'email ' || u.username || ' ' || e.email FROM user_emails e JOIN users u USING (user_id)",
        "SELECT 'link ' || u.username || ' ' || l.subject FROM upstream_oauth_links l JOIN users u USING (user_id)",
        "SELECT 'session ' || u.username || ' ' || COALESCE(s.device_id, '-') || ' admin=' || s.is_synapse_admin FROM compat_sessions s JOIN users u USING (user_id)",
        "SELECT 'access ' || s.device_id || ' ' || t.access_token_sha256 || ' ' || COALESCE(t.expires_at, '-') FROM compat_access_tokens t JOIN compat_sessions s USING (compat_session_id)",
        "SELECT 'refresh ' || s.device_id || ' ' || t.refresh_token_sha256 || ' paired=' || (t.compat_access_token_id IS NOT NULL) FROM compat_refresh_tokens t JOIN compat_sessions s USING (compat_session_id)",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await.unwrap();
        lines.extend(rows);
    }
    database.close().await;
    lines.sort();
    lines
}

/// A Synapse database made by bench/syn2mas/generate_synapse_db.py with
/// `args` (which choose the database), and its homeserver.yaml (in
/// `dir/synapse`, with `enable_3pid_changes` off as the checks want).
pub fn generate_synapse(venv: &Path, dir: &Path, args: &[&str]) -> PathBuf {
    let generator = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench/syn2mas/generate_synapse_db.py");
    let generated = std::process::Command::new(venv.join("bin/python"))
        .arg(generator)
        .args(args)
        .arg("--force")
        .arg("--write-config")
        .arg(dir.join("synapse"))
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let config = dir.join("synapse/homeserver.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("enable_3pid_changes: true", "enable_3pid_changes: false"),
    )
    .unwrap();
    config
}

/// Synapse's shared-secret registration, as `register_new_matrix_user` does.
fn register(venv: &Path, dir: &Path, port: u16, user: &str, password: &str, admin: bool) {
    let status = std::process::Command::new(venv.join("bin/register_new_matrix_user"))
        .args(["-c", "homeserver.yaml", "-u", user, "-p", password])
        .arg(if admin { "--admin" } else { "--no-admin" })
        .arg(format!("http://127.0.0.1:{port}"))
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "register_new_matrix_user {user}");
}

async fn password_login(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    extra: Value,
) -> (u16, Value) {
    let mut body = json!({"type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user}, "password": password});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    call(
        http,
        "POST",
        &format!("{base}/_matrix/client/v3/login"),
        None,
        Some(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_a_real_synapse_and_sessions_keep_working() {
    let Some(venv) = venv() else { return };
    let (synapse_port, proxy_port) = (free_port(), free_port());
    let server_name = format!("127.0.0.1:{proxy_port}");
    let db = TestDatabase::sqlite(&temp_dir("syn2mas-target"));
    let overrides = mxauth_overrides(&server_name).replace(
        "matrix:\n",
        &format!("matrix:\n  endpoint: \"http://127.0.0.1:{synapse_port}/\"\n  secret: {SECRET}\n"),
    );
    let (files, mxauth_port) = server_config("syn2mas", &db, &overrides);
    let compat = std::fs::read_to_string(&files[1])
        .unwrap()
        .replace("{name: health}]", "{name: health}, {name: compat}]");
    std::fs::write(&files[1], compat).unwrap();

    // Synapse on its own first, as before the migration.
    let mut synapse = Synapse::configure(venv.clone(), synapse_port, mxauth_port, proxy_port);
    let config_path = synapse.config_path();
    let delegated = synapse.stand_alone();
    synapse.start().await;
    let direct = format!("http://127.0.0.1:{synapse_port}");
    let http = reqwest::Client::new();
    register(
        &venv,
        &synapse.dir,
        synapse_port,
        "alice",
        "alice password ✓",
        false,
    );
    register(
        &venv,
        &synapse.dir,
        synapse_port,
        "root",
        "root password",
        true,
    );
    register(
        &venv,
        &synapse.dir,
        synapse_port,
        "dave",
        "dave password",
        false,
    );
    let (status, root) = password_login(
        &http,
        &direct,
        "root",
        "root password",
        json!({"device_id": "ROOTDEV"}),
    )
    .await;
    assert_eq!(status, 200, "{root}");
    let root_token = root["access_token"].as_str().unwrap().to_owned();
    let (status, plain) = password_login(
        &http,
        &direct,
        "alice",
        "alice password ✓",
        json!({"device_id": "PLAINDEV"}),
    )
    .await;
    assert_eq!(status, 200, "{plain}");
    let plain_token = plain["access_token"].as_str().unwrap().to_owned();
    assert!(plain_token.starts_with("syt_"), "{plain_token}");
    let (status, refreshing) = password_login(
        &http,
        &direct,
        "alice",
        "alice password ✓",
        json!({"device_id": "REFRESHDEV", "refresh_token": true}),
    )
    .await;
    assert_eq!(status, 200, "{refreshing}");
    let refresh_token = refreshing["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let user = |name: &str| format!("@{name}:{server_name}");
    let admin_put = |name: String, body: Value| {
        let (http, url, token) = (
            http.clone(),
            format!("{direct}/_synapse/admin/v2/users/{name}"),
            root_token.clone(),
        );
        async move { call(&http, "PUT", &url, Some(&token), Some(body)).await }
    };
    let (status, answer) = admin_put(
        user("alice"),
        json!({"threepids": [
        {"medium": "email", "address": "alice@example.org"}]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = admin_put(
        user("carol"),
        json!({"displayname": "Carol",
        "external_ids": [{"auth_provider": "oidc-test", "external_id": "carol-subject"}]}),
    )
    .await;
    assert!(status == 201 || status == 200, "{answer}");
    let (status, answer) = call(
        &http,
        "POST",
        &format!("{direct}/_synapse/admin/v1/deactivate/{}", user("dave")),
        Some(&root_token),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    // While Synapse runs, a real run refuses; a dry run is allowed.
    let synapse_config = config_path.clone();
    let refused = syn2mas(
        &files,
        &synapse_config,
        &["migrate", "--upstream-provider-mapping", MAPPING],
    );
    assert_eq!(refused.code, 10, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("Synapse looks like it is running"),
        "{}",
        refused.stderr
    );
    synapse.stop();

    let check = syn2mas(
        &files,
        &synapse_config,
        &["check", "--upstream-provider-mapping", MAPPING],
    );
    assert_eq!(check.code, 0, "{}", check.stderr);
    let unmapped = syn2mas(&files, &synapse_config, &["check"]);
    assert_eq!(unmapped.code, 10, "{}", unmapped.stderr);
    assert!(
        unmapped.stderr.contains("\"oidc-test\""),
        "{}",
        unmapped.stderr
    );

    let dry = syn2mas(
        &files,
        &synapse_config,
        &["migrate", "--dry-run", "--upstreamProviderMapping", MAPPING],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stderr.contains("users:                 4"),
        "{}",
        dry.stderr
    );
    assert!(
        snapshot(&db).await.is_empty(),
        "the dry run wrote something"
    );

    // A clean run into a second target, for comparison.
    let clean_db = TestDatabase::sqlite(&temp_dir("syn2mas-clean"));
    let (clean_files, _) =
        server_config("syn2mas-clean", &clean_db, &mxauth_overrides(&server_name));
    let clean = syn2mas(
        &clean_files,
        &synapse_config,
        &["migrate", "--upstream-provider-mapping", MAPPING],
    );
    assert_eq!(clean.code, 0, "{}", clean.stderr);

    // Stopped after one batch of one user, then run again.
    let crashed = run(with_configs(&mut mxauth(), &files)
        .args(["syn2mas", "--synapse-config"])
        .arg(&synapse_config)
        .args(["migrate", "--upstream-provider-mapping", MAPPING])
        // One batch in flight, so exactly one is committed at the stop.
        .args(["--writers", "1"])
        .env("MXAUTH_SYN2MAS_BATCH_USERS", "1")
        .env("MXAUTH_SYN2MAS_TEST_CRASH_AFTER_BATCHES", "1"));
    assert_eq!(crashed.code, 70, "{}", crashed.stderr);
    let partial = snapshot(&db).await;
    assert!(
        partial.iter().filter(|l| l.starts_with("user ")).count() == 1,
        "{partial:?}"
    );
    let resumed = syn2mas(
        &files,
        &synapse_config,
        &["migrate", "--upstream-provider-mapping", MAPPING],
    );
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let strip_created = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| l.split(" created=").next().unwrap().to_owned())
            .collect()
    };
    let resumed_data = snapshot(&db).await;
    assert_eq!(
        strip_created(resumed_data.clone()),
        strip_created(snapshot(&clean_db).await)
    );
    for expected in [
        "user alice locked=0 deactivated=0 admin=0",
        "user root locked=0 deactivated=0 admin=1",
        "user dave locked=0 deactivated=1 admin=0",
        "user carol locked=0 deactivated=0 admin=0",
        "email alice alice@example.org",
        "link carol carol-subject",
        "session root ROOTDEV admin=1",
        "session alice REFRESHDEV admin=0",
    ] {
        assert!(
            resumed_data.iter().any(|l| l.starts_with(expected)),
            "missing {expected:?} in {resumed_data:#?}"
        );
    }
    assert!(resumed_data
        .iter()
        .any(|l| l.starts_with("refresh REFRESHDEV") && l.ends_with("paired=1")));
    clean_db.drop_database().await;

    // Synapse now delegates to mxauth.
    std::fs::write(&config_path, &delegated).unwrap();
    let _mxauth = start_server(files.clone(), mxauth_port);
    synapse.start().await;
    start_proxy(proxy_port, synapse_port, mxauth_port).await;
    let public = format!("http://127.0.0.1:{proxy_port}");
    let whoami = format!("{public}/_matrix/client/v3/account/whoami");

    // Old tokens keep working, with their devices.
    let (status, me) = call(&http, "GET", &whoami, Some(&plain_token), None).await;
    assert_eq!(
        (status, me["device_id"].as_str()),
        (200, Some("PLAINDEV")),
        "{me}"
    );
    let (status, refreshed) = call(
        &http,
        "POST",
        &format!("{public}/_matrix/client/v3/refresh"),
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let (status, me) = call(
        &http,
        "GET",
        &whoami,
        refreshed["access_token"].as_str(),
        None,
    )
    .await;
    assert_eq!(
        (status, me["device_id"].as_str()),
        (200, Some("REFRESHDEV")),
        "{me}"
    );
    // The admin's session keeps admin rights at Synapse.
    let (status, listed) = call(
        &http,
        "GET",
        &format!("{direct}/_synapse/admin/v2/users/{}", user("alice")),
        Some(&root_token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{listed}");

    // Every imported password logs in (and is upgraded); dave cannot.
    for (name, password) in [("alice", "alice password ✓"), ("root", "root password")] {
        let (status, answer) = password_login(&http, &public, name, password, json!({})).await;
        assert_eq!(status, 200, "{name}: {answer}");
        let (status, _) = call(&http, "GET", &whoami, answer["access_token"].as_str(), None).await;
        assert_eq!(status, 200);
    }
    let (status, answer) = password_login(&http, &public, "dave", "dave password", json!({})).await;
    assert!(
        status == 403 || status == 401,
        "the deactivated user logged in: {answer}"
    );
}

/// A PostgreSQL source with Synapse's schema, filled by the benchmark's
/// generator: everything moves, guests and appservice users stay behind,
/// and a Synapse token is active at mxauth with its device.
#[tokio::test]
async fn imports_from_a_postgres_synapse_database() {
    let Some(venv) = venv() else { return };
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let admin = std::env::var("DATABASE_URL").unwrap();
    let dir = temp_dir("syn2mas-pg");
    let mut source = url::Url::parse(&admin).unwrap();
    let source_name = format!("synapse_{}", ulid::Ulid::new().to_string().to_lowercase());
    source.set_path(&source_name);
    let synapse_config = generate_synapse(
        &venv,
        &dir,
        &[
            "--postgres",
            source.as_str(),
            "--users",
            "300",
            "--emails",
            "120",
        ],
    );

    let (files, port) = server_config("syn2mas-pg", &db, &mxauth_overrides("bench.example"));
    let imported = syn2mas(
        &files,
        &synapse_config,
        &[
            "migrate",
            "--accept-warnings",
            "--upstream-provider-mapping",
            MAPPING,
        ],
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(
        imported.stderr.contains("users:                 300"),
        "{}",
        imported.stderr
    );
    assert!(
        imported.stderr.contains("emails:                120"),
        "{}",
        imported.stderr
    );

    // One of Synapse's tokens, straight from its database.
    let synapse_db = mxauth_storage::Database::connect(
        &mxauth_storage::DatabaseSettings::from_uri(source.to_string()),
    )
    .await
    .unwrap();
    let mxauth_storage::Database::Postgres(pool, _) = &synapse_db else {
        unreachable!()
    };
    let (token, device): (String, String) = sqlx::query_as(
        "SELECT a.token, a.device_id FROM access_tokens a JOIN users u ON u.name = a.user_id
         WHERE a.refresh_token_id IS NULL AND a.valid_until_ms IS NULL AND u.deactivated = 0
           AND u.locked = FALSE AND u.suspended = FALSE AND u.is_guest = 0 LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    synapse_db.close().await;
    let server = start_server(files, port);
    let introspected = introspect_as_synapse(server.base().trim_end_matches('/'), &token).await;
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["device_id"], device.as_str(), "{introspected}");
    drop(server);
    db.drop_database().await;
    let admin_db =
        mxauth_storage::Database::connect(&mxauth_storage::DatabaseSettings::from_uri(admin))
            .await
            .unwrap();
    if let mxauth_storage::Database::Postgres(pool, _) = &admin_db {
        let _ = sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {source_name} WITH (FORCE)"
        ))
        .execute(pool)
        .await;
    }
    admin_db.close().await;
}
