//! `database migrate` and `manage …` on SQLite and PostgreSQL, checked in
//! the database afterwards; the verbs about sessions, display names,
//! email removal and deactivation are in `parity.rs`.

use std::path::PathBuf;

use crate::support::*;

const PASSWORD: &str = "correct horse battery staple";

/// Config files pointing at `db` and at a fake Synapse on which `mallory`
/// is taken, with the schema migrated.
fn prepare(name: &str, db: &TestDatabase) -> Vec<PathBuf> {
    prepare_with(name, db, "")
}

/// [`prepare`], with `extra` YAML in the overriding file.
fn prepare_with(name: &str, db: &TestDatabase, extra: &str) -> Vec<PathBuf> {
    let dir = temp_dir(name);
    let files = write_config(
        &dir,
        &format!(
            "database:\n  uri: \"{}\"\nmatrix:\n  homeserver: example.com\n  endpoint: \"{}\"\n{extra}",
            db.uri(),
            fake_synapse(&["mallory"])
        ),
    );
    let migrated = run(with_configs(&mut mxauth(), &files).args(["database", "migrate"]));
    assert_eq!(migrated.code, 0, "{}", migrated.stderr);
    assert!(
        migrated.stderr.contains("Applying migration 1/"),
        "{}",
        migrated.stderr
    );
    // It says which database it migrated.
    let named = match db {
        TestDatabase::Sqlite(uri) => format!(
            "Database: SQLite file {}",
            uri.trim_start_matches("sqlite://")
        ),
        TestDatabase::Postgres { name, .. } => {
            format!("Database: PostgreSQL database {name} on ")
        }
    };
    assert!(migrated.stderr.contains(&named), "{}", migrated.stderr);
    files
}

/// `files` and one more pointing `matrix.endpoint` where nothing listens.
fn homeserver_down(files: &[PathBuf]) -> Vec<PathBuf> {
    let down = files[0].with_file_name("homeserver-down.yaml");
    let port = free_port();
    let endpoint = format!("matrix:\n  endpoint: \"http://127.0.0.1:{port}/\"\n");
    std::fs::write(&down, endpoint).unwrap();
    [files, &[down]].concat()
}

fn manage(files: &[PathBuf], args: &[&str]) -> Run {
    run(with_configs(&mut mxauth(), files).arg("manage").args(args))
}

async fn register_user(db: TestDatabase) {
    let files = prepare("register", &db);
    let created = manage(
        &files,
        &[
            "register-user",
            "alice",
            "-p",
            PASSWORD,
            "-e",
            "alice@example.com",
            "-a",
            "-d",
            "Alice",
            "-y",
        ],
    );
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert_eq!(created.stdout.trim(), "@alice:example.com");

    let database = db.open().await;
    let mut repo = database.begin().await.unwrap();
    let alice = repo
        .users()
        .find_by_username("alice")
        .await
        .unwrap()
        .expect("alice exists");
    assert!(alice.can_request_admin);
    let password = repo.user_passwords().active(&alice).await.unwrap().unwrap();
    assert!(password
        .hashed_password
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_eq!(password.version, 1);
    let emails = repo.user_emails().list(&alice).await.unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].email, "alice@example.com");
    let jobs = repo.jobs().list("provision-user").await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(
        jobs[0].payload.contains("\"set_display_name\":\"Alice\""),
        "{}",
        jobs[0].payload
    );
    repo.rollback().await.unwrap();

    // A second alice fails with one clear line and changes nothing.
    let again = manage(
        &files,
        &[
            "register-user",
            "alice",
            "-p",
            "another password entirely",
            "-y",
        ],
    );
    assert_ne!(again.code, 0);
    assert_eq!(
        again.stderr.trim(),
        "error: a user named alice already exists; nothing was changed"
    );
    let mut repo = database.begin().await.unwrap();
    assert_eq!(repo.users().count().await.unwrap(), 1);
    assert_eq!(
        repo.user_passwords().active(&alice).await.unwrap().unwrap(),
        password
    );
    assert_eq!(repo.jobs().list("provision-user").await.unwrap().len(), 1);
    repo.rollback().await.unwrap();
    database.close().await;
    db.drop_database().await;
}

async fn bad_input_changes_nothing(db: TestDatabase) {
    let files = prepare("bad-input", &db);
    let cases: [(&[&str], &str); 5] = [
        (
            &["register-user", "Bob", "-p", PASSWORD, "-y"],
            "usernames are lowercase",
        ),
        (
            &["register-user", "@Bob:example.com", "-p", PASSWORD, "-y"],
            "usernames are lowercase",
        ),
        (
            &["register-user", "1234", "-p", PASSWORD, "-y"],
            "digits only",
        ),
        (
            &["register-user", "bob", "-p", "password", "-y"],
            "the password is too weak",
        ),
        (
            &[
                "register-user",
                "bob",
                "-p",
                PASSWORD,
                "-e",
                "not-an-email",
                "-y",
            ],
            "is not an email address",
        ),
    ];
    for (args, expected) in cases {
        let result = manage(&files, args);
        assert_ne!(result.code, 0, "{args:?}");
        assert!(
            result.stderr.contains(expected),
            "{args:?}: {}",
            result.stderr
        );
    }
    // Without --yes and without a terminal, a missing username is an error, not a hang.
    let result = manage(&files, &["register-user"]);
    assert_ne!(result.code, 0);
    assert!(
        result.stderr.contains("not a terminal"),
        "{}",
        result.stderr
    );

    let weak_allowed = manage(
        &files,
        &[
            "register-user",
            "bob",
            "-p",
            "password",
            "--ignore-password-complexity",
            "-y",
        ],
    );
    assert_eq!(weak_allowed.code, 0, "{}", weak_allowed.stderr);
    let database = db.open().await;
    let mut repo = database.begin().await.unwrap();
    assert_eq!(repo.users().count().await.unwrap(), 1);
    repo.rollback().await.unwrap();
    database.close().await;
    db.drop_database().await;
}

async fn manage_commands(db: TestDatabase) {
    let files = prepare("manage", &db);
    assert_eq!(
        manage(&files, &["register-user", "carol", "-p", PASSWORD, "-y"]).code,
        0
    );

    assert_eq!(
        manage(&files, &["promote-admin", "@carol:example.com"]).code,
        0
    );
    let listed = manage(&files, &["list-admin-users"]);
    assert_eq!(listed.stdout.trim(), "@carol:example.com");
    assert_eq!(manage(&files, &["demote-admin", "carol"]).code, 0);
    assert_eq!(manage(&files, &["list-admin-users"]).stdout.trim(), "");

    let foreign = manage(&files, &["promote-admin", "@carol:elsewhere.org"]);
    assert!(
        foreign.stderr.contains("belongs to elsewhere.org"),
        "{}",
        foreign.stderr
    );
    let missing = manage(&files, &["lock-user", "nobody"]);
    assert_eq!(
        missing.stderr.trim(),
        "error: there is no user named nobody"
    );

    assert_eq!(
        manage(&files, &["lock-user", "carol", "--deactivate"]).code,
        0
    );
    let database = db.open().await;
    let mut repo = database.begin().await.unwrap();
    let carol = repo
        .users()
        .find_by_username("carol")
        .await
        .unwrap()
        .unwrap();
    assert!(carol.locked_at.is_some() && carol.deactivated_at.is_some());
    assert_eq!(repo.jobs().list("deactivate-user").await.unwrap().len(), 1);
    repo.rollback().await.unwrap();

    assert_eq!(
        manage(&files, &["unlock-user", "carol", "--reactivate"]).code,
        0
    );
    let mut repo = database.begin().await.unwrap();
    let carol = repo
        .users()
        .find_by_username("carol")
        .await
        .unwrap()
        .unwrap();
    assert!(carol.is_valid());
    let old = repo.user_passwords().active(&carol).await.unwrap().unwrap();
    repo.rollback().await.unwrap();

    assert_eq!(
        manage(
            &files,
            &["set-password", "carol", "a whole new passphrase 2026"]
        )
        .code,
        0
    );
    assert_ne!(manage(&files, &["set-password", "carol", "abc"]).code, 0);
    assert_eq!(
        manage(&files, &["add-email", "carol", "carol@example.com"]).code,
        0
    );
    let twice = manage(&files, &["verify-email", "carol", "CAROL@example.com"]);
    assert_eq!(twice.code, 0);
    assert!(
        twice.stderr.contains("already has the confirmed address"),
        "{}",
        twice.stderr
    );

    let mut repo = database.begin().await.unwrap();
    let new = repo.user_passwords().active(&carol).await.unwrap().unwrap();
    assert_ne!(new.hashed_password, old.hashed_password);
    assert_eq!(repo.user_emails().list(&carol).await.unwrap().len(), 1);
    repo.rollback().await.unwrap();
    database.close().await;
    db.drop_database().await;
}

async fn register_user_asks_the_homeserver(db: TestDatabase) {
    let files = prepare("homeserver-check", &db);
    // Synapse reserves `_` localparts: refused before anything is written,
    // instead of "created" and a provisioning that fails for ever.
    let svc = manage(&files, &["register-user", "_svc", "-y"]);
    assert_eq!(
        svc.failed().stderr.trim(),
        "error: the homeserver will not register @_svc:example.com (M_INVALID_USERNAME: User ID may not begin with _); nothing was changed. Choose another username"
    );
    manage(&files, &["register-user", "mallory", "-y"])
        .failed()
        .says("the homeserver already has @mallory:example.com")
        .says("--ignore-homeserver-check");
    // The flag skips the check: mallory is taken over.
    let skip = "--ignore-homeserver-check";
    manage(&files, &["register-user", "mallory", "-y", skip]).succeeded();
    // A full Matrix ID, like the other manage verbs.
    let carol = manage(&files, &["register-user", "@carol:example.com", "-y"]);
    assert_eq!(carol.succeeded().stdout.trim(), "@carol:example.com");
    manage(&files, &["register-user", "@dave:elsewhere.org", "-y"])
        .failed()
        .says("belongs to elsewhere.org");

    // A homeserver that does not answer is an error naming the way out.
    let files_down = homeserver_down(&files);
    manage(&files_down, &["register-user", "erin", "-y"])
        .failed()
        .says("cannot ask the homeserver whether it accepts @erin:example.com")
        .says(skip);

    let database = db.open().await;
    let mut repo = database.begin().await.unwrap();
    assert_eq!(
        repo.users().count().await.unwrap(),
        2,
        "only mallory and carol"
    );
    assert!(repo
        .users()
        .find_by_username("carol")
        .await
        .unwrap()
        .is_some());
    repo.rollback().await.unwrap();
    database.close().await;
    db.drop_database().await;
}

const PROVIDER: &str = "01HFVBY12TMNTYTBV8W921M5FA";

/// `register-user --upstream-provider-mapping`: the links are written with
/// the user; a provider not in the configuration, an empty subject or an
/// account linked to someone else is refused and nothing is written; a link
/// left by an unfinished sign-in is taken over.
async fn register_user_with_upstream_links(db: TestDatabase) {
    let files = prepare_with(
        "register-links",
        &db,
        &format!(
            "upstream_oauth2:\n  providers:\n    - {{id: {PROVIDER}, human_name: Company SSO, issuer: \"https://sso.example.com\", client_id: mxauth, token_endpoint_auth_method: none}}\n"
        ),
    );
    let mapping = |subject: &str| format!("{PROVIDER}:{subject}");
    // The subject keeps everything after the first colon.
    let created = manage(
        &files,
        &[
            "register-user",
            "alice",
            "-y",
            "--upstream-provider-mapping",
            &mapping("tenant:alice-42"),
        ],
    );
    created
        .succeeded()
        .says("Linked to the account \"tenant:alice-42\" at Company SSO.");
    let provider: ulid::Ulid = PROVIDER.parse().unwrap();
    let database = db.open().await;
    let mut read = database.read().await.unwrap();
    let alice = read
        .users()
        .find_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    let link = read
        .upstream_links()
        .find_by_subject(provider, "tenant:alice-42")
        .await
        .unwrap()
        .expect("the link was written");
    assert_eq!(link.user_id, Some(alice.id));
    drop(read);

    let unknown = "01HFVBY12TMNTYTBV8W921M5FB";
    for (args, message) in [
        (
            vec![format!("{unknown}:bob")],
            format!("there is no upstream provider {unknown} in upstream_oauth2.providers (they are {PROVIDER})"),
        ),
        (vec![mapping("")], "the subject (the account's id at the provider) is empty".to_owned()),
        (vec!["not-a-ulid:bob".to_owned()], "\"not-a-ulid\" is not a ULID".to_owned()),
        (vec!["bob".to_owned()], "is not PROVIDER_ULID:SUBJECT".to_owned()),
        (
            vec![mapping("bob-1"), mapping("tenant:alice-42")],
            "the account \"tenant:alice-42\" at Company SSO is already linked to a user".to_owned(),
        ),
    ] {
        let mut command = vec!["register-user", "bob", "-y"];
        for arg in &args {
            command.extend(["--upstream-provider-mapping", arg.as_str()]);
        }
        let refused = manage(&files, &command);
        refused.failed().says(&message).says("nothing was changed");
    }
    let mut read = database.read().await.unwrap();
    assert!(read
        .users()
        .find_by_username("bob")
        .await
        .unwrap()
        .is_none());
    assert!(read
        .upstream_links()
        .find_by_subject(provider, "bob-1")
        .await
        .unwrap()
        .is_none());
    drop(read);

    // A sign-in that stopped before choosing an account left a link to
    // nobody: registering with that account takes it over.
    let mut repo = database.begin().await.unwrap();
    let pending = mxauth_model::upstream::UpstreamLink {
        id: ulid::Ulid::new(),
        provider_id: provider,
        user_id: None,
        subject: "carol-7".into(),
        human_account_name: None,
        created_at: mxauth_model::Clock::now(&mxauth_model::SystemClock),
    };
    repo.upstream_links().add(&pending).await.unwrap();
    repo.commit().await.unwrap();
    manage(
        &files,
        &[
            "register-user",
            "carol",
            "-y",
            "--upstream-provider-mapping",
            &mapping("carol-7"),
        ],
    )
    .succeeded();
    let mut read = database.read().await.unwrap();
    let carol = read
        .users()
        .find_by_username("carol")
        .await
        .unwrap()
        .unwrap();
    let link = read
        .upstream_links()
        .find(pending.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.user_id, Some(carol.id));
    drop(read);
    database.close().await;
    db.drop_database().await;
}

async fn issue_registration_tokens(db: TestDatabase) {
    let files = prepare("tokens", &db);
    let single = manage(&files, &["issue-user-registration-token"]);
    assert_eq!(single.code, 0, "{}", single.stderr);
    assert!(single.stderr.contains("usable once"), "{}", single.stderr);
    let random = single.stdout.trim().to_owned();
    assert_eq!(random.len(), 20, "{random}");
    let chosen = manage(
        &files,
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
    assert_eq!(chosen.code, 0, "{}", chosen.stderr);
    assert_eq!(chosen.stdout.trim(), "spring-2027");
    assert!(
        chosen.stderr.contains("usable 5 times, until "),
        "{}",
        chosen.stderr
    );
    let unlimited = manage(&files, &["issue-user-registration-token", "--unlimited"]);
    assert!(
        unlimited.stderr.contains("any number of times"),
        "{}",
        unlimited.stderr
    );
    // The same text twice, a bad text, a zero limit: refused, nothing added.
    for bad in [
        &["--token", "spring-2027"][..],
        &["--token", "has space"][..],
        &["--usage-limit", "0"][..],
    ] {
        let refused = manage(
            &files,
            &[&["issue-user-registration-token"][..], bad].concat(),
        );
        assert_ne!(refused.code, 0, "{bad:?}");
        assert!(refused.stderr.starts_with("error: "), "{}", refused.stderr);
    }
    let database = db.open().await;
    let mut read = database.read().await.unwrap();
    let stored = read
        .registration_tokens()
        .find_by_token("spring-2027")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.usage_limit, Some(5));
    assert!(stored.expires_at.is_some());
    let random = read
        .registration_tokens()
        .find_by_token(&random)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((random.usage_limit, random.times_used), (Some(1), 0));
    drop(read);
    database.close().await;
    db.drop_database().await;
}

/// Runs a test on SQLite and on PostgreSQL, as `name::sqlite` and `name::postgres`.
macro_rules! both {
    ($name:ident) => {
        mod $name {
            use crate::support::*;

            #[tokio::test]
            async fn sqlite() {
                super::$name(TestDatabase::sqlite(&temp_dir("sqlite"))).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = TestDatabase::postgres().await {
                    super::$name(db).await;
                }
            }
        }
    };
}

both!(register_user);
both!(bad_input_changes_nothing);
both!(manage_commands);
both!(register_user_asks_the_homeserver);
both!(register_user_with_upstream_links);
both!(issue_registration_tokens);

// After `both!`, which it uses.
mod parity;
