//! The `manage` verbs that end or start sessions and change a user beyond
//! its password: `issue-compatibility-token`, `kill-sessions`,
//! `set-displayname`, `remove-email`, `deactivate-user`,
//! `reactivate-user`, checked in the database (rows and queued jobs) and,
//! for the token, at introspection.

use std::path::PathBuf;

use mxauth_model::{oauth2::Session, token_digest, Clock, SystemClock, User};
use mxauth_storage::Database;

use super::{homeserver_down, manage, prepare_with};
use crate::support::*;

async fn find(database: &Database, name: &str) -> User {
    let mut read = database.read().await.unwrap();
    read.users()
        .find_by_username(name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{name} exists"))
}

async fn jobs(database: &Database, queue: &str) -> Vec<String> {
    let mut repo = database.begin().await.unwrap();
    let jobs = repo.jobs().list(queue).await.unwrap();
    repo.rollback().await.unwrap();
    jobs.into_iter().map(|j| j.payload).collect()
}

/// The token's row, by its digest: (expires, session device, admin, active).
async fn compat_token(
    database: &Database,
    token: &str,
) -> Option<(bool, Option<String>, bool, bool)> {
    let mut read = database.read().await.unwrap();
    let found = read
        .compat_access_tokens()
        .lookup(&token_digest(token))
        .await
        .unwrap();
    found.map(|(token, session, _)| {
        (
            token.expires_at.is_some(),
            session.device_id.clone(),
            session.is_synapse_admin,
            session.is_active(),
        )
    })
}

async fn compat_session_count(database: &Database, user: &User) -> usize {
    let mut repo = database.begin().await.unwrap();
    let n = repo
        .compat_sessions()
        .active(user, None)
        .await
        .unwrap()
        .len();
    repo.rollback().await.unwrap();
    n
}

/// Config files for `name` on `db`, the fake Synapse, a static OAuth
/// client and a listener for introspection; the schema migrated and the
/// client synced.
fn prepare_server(name: &str, db: &TestDatabase, synapse: &str) -> (Vec<PathBuf>, u16) {
    let (files, port) = server_config(
        name,
        db,
        &format!(
            "matrix:\n  homeserver: example.com\n  endpoint: \"{synapse}\"\nclients:\n  - client_id: {CLIENT}\n    client_auth_method: none\n    redirect_uris: [\"https://app.example.com/cb\"]\n"
        ),
    );
    let migrated = run(with_configs(&mut mxauth(), &files).args(["database", "migrate"]));
    assert_eq!(migrated.code, 0, "{}", migrated.stderr);
    let synced = run(with_configs(&mut mxauth(), &files).args(["config", "sync"]));
    assert_eq!(synced.code, 0, "{}", synced.stderr);
    (files, port)
}

const CLIENT: &str = "01JMANAGE00000000000000000";

/// The last "device X" of the issuing message.
fn device_of(run: &Run) -> String {
    let rest = run
        .stderr
        .split(" on device ")
        .nth(1)
        .expect("names the device");
    rest.split([' ', ';']).next().unwrap().to_owned()
}

async fn issue_compatibility_token(db: TestDatabase) {
    let (synapse, devices) = fake_synapse_recording(&[]);
    let (files, port) = prepare_server("compat-token", &db, &synapse);
    manage(&files, &["register-user", "alice", "-y"]).succeeded();

    // A random device, no admin rights, a token that does not expire.
    let plain = manage(&files, &["issue-compatibility-token", "alice"]);
    plain
        .succeeded()
        .says("Compatibility token issued for @alice:example.com");
    assert!(!plain.stderr.contains("Synapse admin"), "{}", plain.stderr);
    let plain_token = plain.stdout.trim().to_owned();
    assert!(plain_token.starts_with("mct_"), "{plain_token}");
    let random_device = device_of(&plain);
    assert_eq!(random_device.len(), 10, "{random_device}");
    assert!(random_device.chars().all(|c| c.is_ascii_alphanumeric()));
    // The device was created on the homeserver before the token existed.
    let upserts = devices.lock().unwrap().clone();
    assert_eq!(upserts.len(), 1, "{upserts:?}");
    let upsert: serde_json::Value = serde_json::from_str(&upserts[0]).unwrap();
    assert_eq!(upsert["localpart"], "alice");
    assert_eq!(upsert["device_id"], random_device.as_str());

    // A chosen device, a full Matrix ID and the admin flag.
    let flag = "--yes-i-want-to-grant-synapse-admin-privileges";
    let admin = manage(
        &files,
        &[
            "issue-compatibility-token",
            "@alice:example.com",
            "BOTDEVICE01",
            flag,
        ],
    );
    admin
        .succeeded()
        .says("on device BOTDEVICE01 with Synapse admin rights");
    let admin_token = admin.stdout.trim().to_owned();

    let database = db.open().await;
    let alice = find(&database, "alice").await;
    let plain_row = (false, Some(random_device.clone()), false, true);
    assert_eq!(compat_token(&database, &plain_token).await, Some(plain_row));
    let admin_row = (false, Some("BOTDEVICE01".to_owned()), true, true);
    assert_eq!(compat_token(&database, &admin_token).await, Some(admin_row));
    assert_eq!(compat_session_count(&database, &alice).await, 2);

    // Bad input: a clear error, and nothing written.
    let down = homeserver_down(&files);
    manage(&down, &["issue-compatibility-token", "alice", "DOWNDEVICE"])
        .failed()
        .says("cannot create the device DOWNDEVICE of alice on the homeserver")
        .says("nothing was changed");
    manage(&files, &["issue-compatibility-token", "nobody"])
        .failed()
        .says("there is no user named nobody");
    manage(
        &files,
        &["issue-compatibility-token", "@alice:elsewhere.org"],
    )
    .failed()
    .says("belongs to elsewhere.org");
    manage(&files, &["issue-compatibility-token", "alice", "has space"])
        .failed()
        .says("is not a device id");
    manage(&files, &["register-user", "locky", "-y"]).succeeded();
    manage(&files, &["lock-user", "locky"]).succeeded();
    manage(&files, &["issue-compatibility-token", "locky"])
        .failed()
        .says("locky is locked; nothing was changed");
    assert_eq!(compat_session_count(&database, &alice).await, 2);
    let locky = find(&database, "locky").await;
    assert_eq!(compat_session_count(&database, &locky).await, 0);
    assert_eq!(devices.lock().unwrap().len(), 2, "only the two issued");

    // The server answers the tokens as Synapse asks: active, with the
    // device, and the admin scope only on the admin one.
    let server = start_server(files.clone(), port);
    let base = server.base();
    let base = base.trim_end_matches('/');
    let answer = crate::synapse_peer::introspect_as_synapse(base, &plain_token).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["device_id"], random_device.as_str(), "{answer}");
    assert_eq!(answer["username"], "alice", "{answer}");
    let scope = answer["scope"].as_str().unwrap();
    assert!(!scope.contains("urn:synapse:admin:*"), "{scope}");
    let answer = crate::synapse_peer::introspect_as_synapse(base, &admin_token).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["device_id"], "BOTDEVICE01", "{answer}");
    let scope = answer["scope"].as_str().unwrap();
    assert!(scope.contains("urn:synapse:admin:*"), "{scope}");

    // A new token on the same device replaces the session on it.
    let again = manage(
        &files,
        &["issue-compatibility-token", "alice", "BOTDEVICE01"],
    );
    let replacement = again.succeeded().stdout.trim().to_owned();
    let answer = crate::synapse_peer::introspect_as_synapse(base, &admin_token).await;
    assert_eq!(answer["active"], false, "{answer}");
    let answer = crate::synapse_peer::introspect_as_synapse(base, &replacement).await;
    assert_eq!(answer["active"], true, "{answer}");
    drop(server);
    assert_eq!(compat_session_count(&database, &alice).await, 2);
    database.close().await;
    db.drop_database().await;
}

/// Adds an OAuth session of `user` on the configured client, with a device.
async fn add_oauth_session(database: &Database, user: &User) -> Session {
    let now = SystemClock.now();
    let session = Session {
        id: ulid::Ulid::new(),
        client_id: CLIENT.parse().unwrap(),
        user_id: Some(user.id),
        browser_session_id: None,
        scope: "openid urn:matrix:client:api:* urn:matrix:client:device:OAUTHDEV01"
            .parse()
            .unwrap(),
        user_agent: None,
        last_active_at: None,
        last_active_ip: None,
        human_name: None,
        created_at: now,
        finished_at: None,
    };
    let mut repo = database.begin().await.unwrap();
    repo.oauth2_sessions().add(&session).await.unwrap();
    repo.browser_sessions()
        .add(ulid::Ulid::new(), user, Some("Firefox/140"), now)
        .await
        .unwrap();
    repo.commit().await.unwrap();
    session
}

async fn kill_sessions(db: TestDatabase) {
    let synapse = fake_synapse(&[]);
    let (files, _) = prepare_server("kill-sessions", &db, &synapse);
    manage(&files, &["register-user", "bob", "-y"]).succeeded();
    let token = manage(&files, &["issue-compatibility-token", "bob", "BOBDEVICE1"]);
    let token = token.succeeded().stdout.trim().to_owned();
    let database = db.open().await;
    let bob = find(&database, "bob").await;
    let oauth = add_oauth_session(&database, &bob).await;

    // The dry run lists each session and changes nothing.
    let dry = manage(&files, &["kill-sessions", "bob", "--dry-run"]);
    dry.succeeded()
        .says("Would end 1 OAuth 2.0, 1 compat and 1 browser session(s), and would queue a device sync.")
        .says("nothing was changed");
    let listed: Vec<&str> = dry.stdout.lines().collect();
    assert_eq!(listed.len(), 3, "{}", dry.stdout);
    assert_eq!(
        listed[0],
        format!("oauth2 {} client {CLIENT} device OAUTHDEV01", oauth.id)
    );
    assert!(listed[1].starts_with("compat ") && listed[1].ends_with(" device BOBDEVICE1"));
    assert!(listed[2].starts_with("browser ") && listed[2].ends_with(" user agent Firefox/140"));
    assert!(compat_token(&database, &token).await.unwrap().3);
    assert!(jobs(&database, "sync-devices").await.is_empty());

    manage(&files, &["kill-sessions", "@bob:example.com"])
        .succeeded()
        .says("Ended 1 OAuth 2.0, 1 compat and 1 browser session(s); the worker removes their devices");
    assert!(!compat_token(&database, &token).await.unwrap().3);
    let mut repo = database.begin().await.unwrap();
    let oauth = repo
        .oauth2_sessions()
        .find(oauth.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!oauth.is_active());
    assert!(repo
        .browser_sessions()
        .active_of_user(bob.id)
        .await
        .unwrap()
        .is_empty());
    repo.rollback().await.unwrap();
    let synced = jobs(&database, "sync-devices").await;
    assert_eq!(synced.len(), 1, "{synced:?}");
    assert!(synced[0].contains(&bob.id.to_string()), "{synced:?}");

    // Nothing left: nothing ended, no second sync.
    let again = manage(&files, &["kill-sessions", "bob"]);
    again
        .succeeded()
        .says("Ended 0 OAuth 2.0, 0 compat and 0 browser session(s).");
    assert_eq!(again.stdout, "");
    assert_eq!(jobs(&database, "sync-devices").await.len(), 1);
    manage(&files, &["kill-sessions", "nobody", "--dry-run"])
        .failed()
        .says("there is no user named nobody");
    database.close().await;
    db.drop_database().await;
}

async fn display_name_and_email(db: TestDatabase) {
    let files = prepare_with("display-name", &db, "");
    manage(
        &files,
        &["register-user", "carol", "-e", "carol@example.com", "-y"],
    )
    .succeeded();
    let database = db.open().await;
    let carol = find(&database, "carol").await;
    let provisioned = jobs(&database, "provision-user").await.len();

    manage(
        &files,
        &[
            "set-displayname",
            "@carol:example.com",
            "  Carol Q. Example ",
        ],
    )
    .succeeded()
    .says("Display name of carol set to \"Carol Q. Example\"");
    // MAS's admin API spells it displayname; the register-user flag, display-name.
    manage(&files, &["set-display-name", "carol", "-Carol-"]).succeeded();
    let queued = jobs(&database, "provision-user").await;
    assert_eq!(queued.len(), provisioned + 2);
    let names: Vec<&String> = queued[provisioned..].iter().collect();
    assert!(
        names[0].contains("\"set_display_name\":\"Carol Q. Example\""),
        "{names:?}"
    );
    assert!(
        names[1].contains("\"set_display_name\":\"-Carol-\""),
        "{names:?}"
    );
    assert!(names[0].contains(&carol.id.to_string()), "{names:?}");

    let too_long = "x".repeat(mxauth_model::user::DISPLAY_NAME_MAX + 1);
    for (name, message) in [
        (too_long.as_str(), "longer than 256 characters"),
        ("Carol\nEvil", "control characters"),
        ("   ", "the display name is empty"),
    ] {
        manage(&files, &["set-displayname", "carol", name])
            .failed()
            .says(message)
            .says("nothing was changed");
    }
    manage(&files, &["set-displayname", "nobody", "Nobody"])
        .failed()
        .says("there is no user named nobody");
    manage(&files, &["register-user", "dave", "-d", "Dave\tTab", "-y"])
        .failed()
        .says("control characters");
    assert_eq!(
        jobs(&database, "provision-user").await.len(),
        provisioned + 2
    );

    // remove-email: matched ignoring case, provisioning queued.
    manage(&files, &["remove-email", "carol", "CAROL@example.com"])
        .succeeded()
        .says("Removed carol@example.com from carol.");
    let mut read = database.read().await.unwrap();
    assert!(read.user_emails().list(&carol).await.unwrap().is_empty());
    drop(read);
    assert_eq!(
        jobs(&database, "provision-user").await.len(),
        provisioned + 3
    );
    manage(&files, &["remove-email", "carol", "carol@example.com"])
        .failed()
        .says("carol has no address carol@example.com; nothing was changed");
    manage(&files, &["remove-email", "carol", "not-an-email"])
        .failed()
        .says("is not an email address");
    manage(&files, &["remove-email", "nobody", "carol@example.com"])
        .failed()
        .says("there is no user named nobody");
    assert_eq!(
        jobs(&database, "provision-user").await.len(),
        provisioned + 3
    );
    database.close().await;
    db.drop_database().await;
}

async fn deactivate_and_reactivate(db: TestDatabase) {
    let synapse = fake_synapse(&[]);
    let (files, _) = prepare_server("deactivate", &db, &synapse);
    manage(&files, &["register-user", "erin", "-y"]).succeeded();
    let token = manage(&files, &["issue-compatibility-token", "erin"]);
    let token = token.succeeded().stdout.trim().to_owned();
    let database = db.open().await;
    let erin = find(&database, "erin").await;
    add_oauth_session(&database, &erin).await;

    manage(&files, &["deactivate-user", "nobody"])
        .failed()
        .says("there is no user named nobody");
    manage(&files, &["reactivate-user", "@nobody:example.com"])
        .failed()
        .says("there is no user named nobody");
    assert!(jobs(&database, "deactivate-user").await.is_empty());

    manage(&files, &["deactivate-user", "@erin:example.com"])
        .succeeded()
        .says("erin is locked and deactivated.")
        .says("Ended 1 OAuth 2.0, 1 compat and 1 browser session(s)");
    let deactivated = find(&database, "erin").await;
    assert!(deactivated.locked_at.is_some() && deactivated.deactivated_at.is_some());
    let queued = jobs(&database, "deactivate-user").await;
    assert_eq!(queued.len(), 1);
    assert!(queued[0].contains("\"hs_erase\":false"), "{queued:?}");
    assert_eq!(jobs(&database, "sync-devices").await.len(), 1);
    assert!(!compat_token(&database, &token).await.unwrap().3);

    // Reactivation reverses the deactivation only: still locked.
    manage(&files, &["reactivate-user", "erin"])
        .succeeded()
        .says("erin is reactivated, and still locked");
    let reactivated = find(&database, "erin").await;
    assert_eq!(reactivated.deactivated_at, None);
    assert_eq!(reactivated.locked_at, deactivated.locked_at);
    let queued = jobs(&database, "reactivate-user").await;
    assert_eq!(queued.len(), 1);
    assert!(queued[0].contains(&erin.id.to_string()), "{queued:?}");
    // Provisioning carries the lock flag to the homeserver.
    let provisioned = jobs(&database, "provision-user").await.len();
    manage(&files, &["unlock-user", "erin"]).succeeded();
    assert!(find(&database, "erin").await.is_valid());
    assert_eq!(
        jobs(&database, "provision-user").await.len(),
        provisioned + 1
    );

    // A user locked earlier keeps the time of that lock.
    manage(&files, &["lock-user", "erin"]).succeeded();
    let locked = find(&database, "erin").await.locked_at;
    manage(&files, &["deactivate-user", "erin"]).succeeded();
    assert_eq!(find(&database, "erin").await.locked_at, locked);
    // `lock-user --deactivate` is the same operation.
    manage(&files, &["register-user", "frank", "-y"]).succeeded();
    manage(&files, &["issue-compatibility-token", "frank"]).succeeded();
    manage(&files, &["lock-user", "frank", "--deactivate"])
        .succeeded()
        .says("Ended 0 OAuth 2.0, 1 compat and 0 browser session(s)");
    let frank = find(&database, "frank").await;
    assert!(frank.deactivated_at.is_some());
    assert_eq!(compat_session_count(&database, &frank).await, 0);
    assert_eq!(jobs(&database, "deactivate-user").await.len(), 3);
    database.close().await;
    db.drop_database().await;
}

both!(issue_compatibility_token);
both!(kill_sessions);
both!(display_name_and_email);
both!(deactivate_and_reactivate);
