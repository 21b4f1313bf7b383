//! Faults a deployment lives through, on the real binary (issue 14): a
//! PostgreSQL restart under load (503 while it is down, nothing
//! acknowledged lost, back within 5 s without restarting mxauth), SIGTERM
//! under load (requests in flight finish, new connections are refused),
//! and an instance killed in the middle of a job (another instance runs
//! it once its lease runs out).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::{homeserver_stub::StubHomeserver, pg_cluster::PrivatePostgres, support::*};

const SECRET: &str = "faults-homeserver-secret";
const PROVISION: &str = "/_synapse/mas/provision_user";

/// Server config pointing at `homeserver`, with login rate limits far
/// above what a load loop sends.
fn homeserver_config(homeserver: &StubHomeserver) -> String {
    format!(
        "matrix:\n  homeserver: example.com\n  endpoint: \"{}\"\n  secret: {SECRET}\n\
         rate_limiting:\n  login:\n    per_ip: {{burst: 100000, per_second: 1000}}\n    per_account: {{burst: 100000, per_second: 1000}}\n",
        homeserver.endpoint()
    )
}

/// One request of a load loop: what it was, when it started, how long it
/// took, its status (0: no HTTP answer at all) and body.
struct Outcome {
    login: bool,
    started: Instant,
    took: Duration,
    status: u16,
    body: String,
}

impl Outcome {
    fn ended(&self) -> Instant {
        self.started + self.took
    }
}

async fn send(login: bool, request: reqwest::RequestBuilder) -> Outcome {
    let started = Instant::now();
    let (status, body) = match request.send().await {
        Ok(response) => (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        ),
        Err(_) => (0, String::new()),
    };
    Outcome {
        login,
        started,
        took: started.elapsed(),
        status,
        body,
    }
}

fn compat_login(http: &reqwest::Client, base: &str, device: &str) -> reqwest::RequestBuilder {
    let body = json!({"type": "m.login.password", "password": "wonderland", "device_id": device,
        "identifier": {"type": "m.id.user", "user": "alice"}});
    http.post(format!("{base}_matrix/client/v3/login"))
        .header("content-type", "application/json")
        .body(body.to_string())
}

fn introspect(http: &reqwest::Client, base: &str, token: &str) -> reqwest::RequestBuilder {
    http.post(format!("{base}oauth2/introspect"))
        .bearer_auth(SECRET)
        .form(&[("token", token)])
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"))
}

/// Sends logins (`login`) or introspections of `token` one after the other
/// until `stop`, recording each.
fn load_loop(
    http: reqwest::Client,
    base: String,
    login: bool,
    token: String,
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let request = if login {
                compat_login(&http, &base, &format!("LOAD{}", ulid::Ulid::new()))
            } else {
                introspect(&http, &base, &token)
            };
            let outcome = send(login, request).await;
            outcomes.lock().unwrap().push(outcome);
            if n % 50 == 0 {
                tokio::task::yield_now().await;
            }
        }
    })
}

/// Runs a blocking `pg_ctl` off the runtime, so the load goes on.
async fn blocking(pg: &Arc<PrivatePostgres>, step: fn(&PrivatePostgres)) {
    let pg = pg.clone();
    tokio::task::spawn_blocking(move || step(&pg))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_load_is_503_then_recovers_losing_nothing() {
    let Some(pg) = PrivatePostgres::start() else {
        return;
    };
    let pg = Arc::new(pg);
    let homeserver = StubHomeserver::start().await;
    let (files, port) = server_config("faults-pg", &pg.database(), &homeserver_config(&homeserver));
    serve_compat(&files);
    migrate_and_register(&files, "alice", "wonderland", &[]);
    let server = start_server(files, port);
    let base = server.base();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let first = send(true, compat_login(&http, &base, "BEFORE")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let token = json_of(&first.body)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let loops: Vec<_> = [true, true, false, false]
        .into_iter()
        .map(|login| {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            load_loop(http, base, login, token, stop.clone(), outcomes.clone())
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    blocking(&pg, PrivatePostgres::stop_fast).await;
    let down = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restarting = Instant::now();
    blocking(&pg, PrivatePostgres::start_again).await;
    let up = Instant::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.store(true, Ordering::SeqCst);
    for handle in loops {
        handle.await.unwrap();
    }
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());

    // Only 200 or a fast 503 with a JSON error body; never a 500, a hang
    // or a dropped connection.
    for o in &outcomes {
        let what = if o.login { "login" } else { "introspection" };
        match o.status {
            200 => {}
            503 => {
                assert!(
                    o.took < Duration::from_secs(3),
                    "a 503 {what} took {:?}",
                    o.took
                );
                let body = json_of(&o.body);
                assert!(
                    body.get("errcode").or(body.get("error")).is_some(),
                    "a 503 {what} without an error: {}",
                    o.body
                );
            }
            status => panic!("{what} answered {status} after {:?}: {}", o.took, o.body),
        }
    }
    // While PostgreSQL is down nothing is served from memory: not even an
    // introspection the token cache could have answered.
    let while_down: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.started >= down && o.ended() <= restarting)
        .collect();
    for login in [true, false] {
        let kind: Vec<_> = while_down.iter().filter(|o| o.login == login).collect();
        assert!(
            !kind.is_empty(),
            "no request (login: {login}) while PostgreSQL was down"
        );
        assert!(
            kind.iter().all(|o| o.status == 503),
            "answered 200 while PostgreSQL was down (login: {login})"
        );
    }
    // Back within 5 s of PostgreSQL accepting connections, and staying back.
    let mut recovery = Duration::ZERO;
    for login in [true, false] {
        let back = outcomes
            .iter()
            .filter(|o| o.login == login && o.status == 200 && o.started >= up)
            .map(|o| o.ended().duration_since(up))
            .min()
            .unwrap_or_else(|| panic!("no 200 after the restart (login: {login})"));
        assert!(
            back <= Duration::from_secs(5),
            "200s came back {back:?} after the restart (login: {login})"
        );
        recovery = recovery.max(back);
    }
    let late: Vec<_> = outcomes
        .iter()
        .filter(|o| o.started >= up + Duration::from_secs(5) && o.status != 200)
        .collect();
    assert!(
        late.is_empty(),
        "{} requests failed more than 5 s after the restart",
        late.len()
    );

    // Every login acknowledged, before, during or after, holds a token
    // that is active now: no acknowledged write was lost.
    let mut tokens = vec![token.clone()];
    for o in outcomes.iter().filter(|o| o.login && o.status == 200) {
        tokens.push(
            json_of(&o.body)["access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for token in &tokens {
        let check = send(false, introspect(&http, &base, token)).await;
        assert_eq!(check.status, 200, "{}", check.body);
        assert_eq!(
            json_of(&check.body)["active"],
            true,
            "a token acknowledged was lost"
        );
    }
    // Introspection answers "active" for the token from before, throughout.
    for o in outcomes.iter().filter(|o| !o.login && o.status == 200) {
        assert_eq!(json_of(&o.body)["active"], true, "{}", o.body);
    }
    let unavailable = outcomes.iter().filter(|o| o.status == 503).count();
    let slowest_503 = outcomes
        .iter()
        .filter(|o| o.status == 503)
        .map(|o| o.took)
        .max()
        .unwrap_or_default();
    report(&format!(
        "PostgreSQL restart: {} requests, {unavailable} answered 503 (slowest {slowest_503:?}), \
         down {:?}, 200s back {recovery:?} after it accepted connections, {} acknowledged logins all still active",
        outcomes.len(),
        restarting.duration_since(down),
        tokens.len()
    ));
    drop(server);
}

/// A line a developer sees without `--nocapture`.
fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish_and_refuses_new_ones() {
    let dir = temp_dir("faults-sigterm");
    let homeserver = StubHomeserver::start().await;
    let (files, port) = server_config(
        "faults-sigterm",
        &TestDatabase::sqlite(&dir),
        &homeserver_config(&homeserver),
    );
    serve_compat(&files);
    migrate_and_register(&files, "alice", "wonderland", &[]);
    let mut server = start_server(files, port);
    let base = server.base();
    let http = reqwest::Client::new();

    // Four logins waiting 3 s each on the homeserver for their device.
    let slow = Duration::from_secs(3);
    homeserver.set_delay(slow);
    let devices_before = homeserver.calls_to("/_synapse/mas/upsert_device").len();
    let logins: Vec<_> = (0..4)
        .map(|i| {
            let request = compat_login(&http, &base, &format!("INFLIGHT{i}"));
            tokio::spawn(send(true, request))
        })
        .collect();
    let waiting = Instant::now();
    while homeserver.calls_to("/_synapse/mas/upsert_device").len() < devices_before + 4 {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "the logins never reached the homeserver"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    sigterm(&server.child);
    let term = Instant::now();
    let refused = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            break term.elapsed();
        }
        assert!(
            term.elapsed() < Duration::from_secs(1),
            "still accepting connections 1 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        refused < slow,
        "the listener closed only after the requests in flight"
    );
    for login in logins {
        let login = login.await.unwrap();
        assert_eq!(
            login.status, 200,
            "a login in flight at SIGTERM: {}",
            login.body
        );
        assert!(json_of(&login.body)["access_token"].is_string());
    }
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            term.elapsed() < Duration::from_secs(15),
            "still running 15 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    report(&format!(
        "SIGTERM: new connections refused after {refused:?}, 4 logins in flight answered 200, exited 0 after {:?}",
        term.elapsed()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_a_killed_instance_runs_on_the_other_after_its_lease() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let homeserver = StubHomeserver::start().await;
    // Instance A's provisioning call hangs: the job is mid-run when A dies.
    homeserver.hold(Some(PROVISION));
    let (files_a, port_a) = server_config("faults-jobs", &db, &homeserver_config(&homeserver));
    let (files_b, port_b) = second_instance(&files_a, port_a);
    let mut server_a = start_server(files_a.clone(), port_a);
    let registered = run(with_configs(&mut mxauth(), &files_a).args([
        "manage",
        "register-user",
        "held",
        "-p",
        "pw",
        "-y",
    ]));
    assert_eq!(registered.code, 0, "{}", registered.stderr);
    let waiting = Instant::now();
    while homeserver.calls_to(PROVISION).is_empty() {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "A never ran the job"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server_b = start_server(files_b, port_b);

    let killed = std::process::Command::new("kill")
        .args(["-KILL", &server_a.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    server_a.child.wait().unwrap();
    let kill = Instant::now();
    homeserver.hold(None);
    while homeserver.calls_to(PROVISION).len() < 2 {
        assert!(
            kill.elapsed() < Duration::from_secs(30),
            "B never ran the job of the killed A"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let picked_up = kill.elapsed();
    // The lease counts from A's last heartbeat, at most HEARTBEAT_EVERY
    // (5 s) before the kill; B polls every second.
    assert!(
        picked_up >= Duration::from_secs(15 - 5 - 1),
        "B took the job {picked_up:?} after A died: before its lease ran out"
    );
    assert!(
        picked_up <= Duration::from_secs(15 + 3),
        "B took the job only {picked_up:?} after A died"
    );

    let store = db.open().await;
    let waiting = Instant::now();
    loop {
        let mut repo = store.begin().await.unwrap();
        let jobs = repo.jobs().list("provision-user").await.unwrap();
        repo.commit().await.unwrap();
        let statuses: Vec<_> = jobs.iter().map(|j| j.status.as_str()).collect();
        if statuses == ["completed"] {
            break;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "job statuses: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store.close().await;
    // A moment more: the homeserver sees it exactly once more, from B.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls = homeserver.calls_to(PROVISION);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|c| c.contains("\"held\"")), "{calls:?}");
    report(&format!(
        "killed worker: B ran its job {picked_up:?} after A died"
    ));
    drop(server_b);
    db.drop_database().await;
}
