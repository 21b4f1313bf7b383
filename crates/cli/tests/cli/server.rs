//! The server process: development mode, path prefix, graceful shutdown.

use std::process::Stdio;

use crate::support::*;

#[test]
fn development_mode_serves_health_and_keeps_its_secrets() {
    let dir = temp_dir("dev-mode");
    let port = free_port();
    let start = || {
        mxauth()
            .current_dir(&dir)
            .env("MXAUTH_DEV_LISTEN", format!("127.0.0.1:{port}"))
            .env_remove("MXAUTH_DATA_DIR")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let server = start();
    assert_eq!(wait_for(port, "/health"), (200, "ok".into()));
    sigterm(&server);
    let output = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("DEVELOPMENT MODE"), "{log}");
    assert!(
        log.contains(&format!("serving http://127.0.0.1:{port}/health")),
        "{log}"
    );
    assert!(log.contains("GET /health 200"), "{log}");
    assert!(log.contains("stopped"), "{log}");

    let secrets = std::fs::read_to_string(dir.join("mxauth-data/secrets.yaml")).unwrap();
    assert!(dir.join("mxauth-data/mxauth.db").exists());
    let server = start();
    assert_eq!(wait_for(port, "/health").0, 200);
    sigterm(&server);
    assert!(server.wait_with_output().unwrap().status.success());
    let again = std::fs::read_to_string(dir.join("mxauth-data/secrets.yaml")).unwrap();
    assert_eq!(secrets, again, "secrets are reused, not regenerated");
}

#[test]
fn serves_under_a_path_prefix() {
    let dir = temp_dir("prefix");
    let port = free_port();
    let files = write_config(
        &dir,
        &format!(
            "http:\n  public_base: https://matrix.example.com/auth/\n  listeners:\n    - name: web\n      prefix: /auth\n      resources: [{{name: health}}]\n      binds: [{{address: \"127.0.0.1:{port}\"}}]\ndatabase:\n  uri: \"sqlite://{}\"\n",
            dir.join("db.sqlite").display()
        ),
    );
    let server = with_configs(&mut mxauth(), &files)
        .arg("server")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(wait_for(port, "/auth/health"), (200, "ok".into()));
    assert_eq!(http_get(port, "/health").unwrap().0, 404);
    sigterm(&server);
    let output = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("GET /auth/health 200"), "{log}");
    assert!(log.contains("GET /health 404"), "{log}");
}

#[test]
fn no_migrate_refuses_an_old_schema() {
    let dir = temp_dir("no-migrate");
    let files = write_config(
        &dir,
        &format!(
            "http:\n  listeners:\n    - resources: [{{name: health}}]\n      binds: [{{address: \"127.0.0.1:{}\"}}]\ndatabase:\n  uri: \"sqlite://{}\"\n",
            free_port(),
            dir.join("db.sqlite").display()
        ),
    );
    let result = run(with_configs(&mut mxauth(), &files).args(["server", "--no-migrate"]));
    assert_ne!(result.code, 0);
    assert!(result.stderr.contains("--no-migrate"), "{}", result.stderr);
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let dir = temp_dir("port-in-use");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let files = write_config(
        &dir,
        &format!(
            "http:\n  listeners:\n    - resources: [{{name: health}}]\n      binds: [{{address: \"127.0.0.1:{port}\"}}]\ndatabase:\n  uri: \"sqlite://{}\"\n",
            dir.join("db.sqlite").display()
        ),
    );
    let result = run(with_configs(&mut mxauth(), &files).arg("server"));
    assert_ne!(result.code, 0);
    assert!(
        result
            .stderr
            .contains(&format!("error: cannot listen on 127.0.0.1:{port}")),
        "{}",
        result.stderr
    );
}

#[test]
fn the_worker_runs_until_sigterm() {
    let dir = temp_dir("worker");
    let files = write_config(
        &dir,
        &format!(
            "database:\n  uri: \"sqlite://{}\"\n",
            dir.join("db.sqlite").display()
        ),
    );
    assert_eq!(
        run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).code,
        0
    );
    let worker = with_configs(&mut mxauth(), &files)
        .arg("worker")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    sigterm(&worker);
    let output = worker.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(
        log.contains("job worker started") && log.contains("job worker stopped"),
        "{log}"
    );
}

/// `http.listeners[].tls` serves HTTPS with the configured certificate;
/// a broken TLS section stops the start with a message naming the key.
#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let dir = temp_dir("tls");
    let (cert, key) = self_signed_certificate(&dir);
    let port = free_port();
    let listener = |tls: &str| {
        format!(
            "http:\n  listeners:\n    - name: web\n      resources: [{{name: health}}, {{name: discovery}}]\n      binds: [{{address: \"127.0.0.1:{port}\"}}]\n      tls: {tls}\ndatabase:\n  uri: \"sqlite://{}\"\n",
            dir.join("db.sqlite").display()
        )
    };
    let files = write_config(
        &dir,
        &listener(&format!(
            "{{certificate_file: \"{}\", key_file: \"{}\"}}",
            cert.display(),
            key.display()
        )),
    );
    let server = with_configs(&mut mxauth(), &files)
        .arg("server")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}/health");
    let mut answer = None;
    for _ in 0..100 {
        if let Ok(response) = trusting.get(&url).send().await {
            answer = Some((response.status().as_u16(), response.text().await.unwrap()));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(answer, Some((200, "ok".to_owned())));
    // A client that does not trust the certificate is refused, and plain
    // HTTP on the TLS port gets no HTTP answer.
    assert!(reqwest::get(&url).await.is_err());
    assert!(http_get(port, "/health").is_none_or(|(status, _)| status == 0));
    // The server keeps serving after those failed handshakes.
    assert_eq!(trusting.get(&url).send().await.unwrap().status(), 200);
    sigterm(&server);
    let output = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains(&format!("serving https://127.0.0.1:{port}/health")),
        "{log}"
    );

    // A missing key is named, and nothing starts.
    let files = write_config(
        &dir,
        &listener(&format!("{{certificate_file: \"{}\"}}", cert.display())),
    );
    let failed = run(with_configs(&mut mxauth(), &files).arg("server"));
    assert_ne!(failed.code, 0);
    assert!(
        failed
            .stderr
            .contains("http.listeners[0].tls.key (or http.listeners[0].tls.key_file) is required"),
        "{}",
        failed.stderr
    );
}
