//! Development mode from the outside: only the server starts it, other
//! commands join the one that exists (and name its database) or refuse, and
//! a second server on the same SQLite file refuses to start.

use std::{
    path::Path,
    process::{Child, Stdio},
};

use crate::support::*;

const PASSWORD: &str = "correct horse battery staple";

/// `mxauth ARGS` in `dir` with no configuration anywhere.
fn in_dir(dir: &Path, args: &[&str]) -> Run {
    run(mxauth()
        .current_dir(dir)
        .env_remove("MXAUTH_DATA_DIR")
        .args(args))
}

fn start_dev_server(dir: &Path, port: u16) -> Child {
    mxauth()
        .current_dir(dir)
        .env_remove("MXAUTH_DATA_DIR")
        .env("MXAUTH_DEV_LISTEN", format!("127.0.0.1:{port}"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn without_configuration_only_the_server_starts_development_mode() {
    let dir = temp_dir("no-config");
    for args in [
        &["config", "check"][..],
        &["doctor"],
        &["database", "migrate"],
        &["manage", "register-user", "alice", "-p", PASSWORD, "-y"],
    ] {
        in_dir(&dir, args)
            .failed()
            .says("error: no configuration: pass -c FILE or set MXAUTH_CONFIG");
    }
    assert!(
        !dir.join("mxauth-data").exists(),
        "no throwaway data directory"
    );

    // Once the development server has run, the others join it, naming its
    // database, and work while it runs (the README's flow).
    let port = free_port();
    let server = start_dev_server(&dir, port);
    assert_eq!(wait_for(port, "/health").0, 200);
    in_dir(
        &dir,
        &["manage", "register-user", "alice", "-p", PASSWORD, "-y"],
    )
    .succeeded()
    .says("using the database mxauth-data/mxauth.db");
    in_dir(&dir, &["config", "check"])
        .succeeded()
        .says("SQLite file mxauth-data/mxauth.db");
    sigterm(&server);
    assert!(server.wait_with_output().unwrap().status.success());
}

#[test]
fn a_second_server_on_the_same_sqlite_file_refuses_to_start() {
    let dir = temp_dir("second-server");
    let port = free_port();
    let mut first = start_dev_server(&dir, port);
    assert_eq!(wait_for(port, "/health").0, 200);

    // It must stop by itself; one that started serving is killed and fails
    // the test.
    let mut second = start_dev_server(&dir, free_port());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while second.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = second.kill();
    let output = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another mxauth server (process {}) is already running on the SQLite database mxauth-data/mxauth.db",
            first.id()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("mxauth-data/mxauth.db.lock"), "{stderr}");

    // A crash releases the lock: the next start works.
    first.kill().unwrap();
    first.wait().unwrap();
    let port = free_port();
    let mut again = start_dev_server(&dir, port);
    assert_eq!(wait_for(port, "/health").0, 200);
    sigterm(&again);
    assert!(again.wait().unwrap().success());
}
