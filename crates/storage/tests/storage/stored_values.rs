//! Values stored as text and read back as model types (scopes, response
//! modes, PKCE methods): what round-trips, and the error that names the
//! table and column when a stored value does not parse.

use mxauth_model::{
    oauth2::{ResponseMode, Session},
    CodeChallengeMethod, Scope,
};
use mxauth_storage::{new_ulid, Database, StorageError};

use crate::{
    harness::{execute_raw, now, rng},
    oauth2::{client, grant, session, user},
};

/// Asserts that `result` failed on the stored value of `table.column`.
fn assert_malformed<T: std::fmt::Debug>(
    result: Result<T, StorageError>,
    table: &str,
    column: &str,
) {
    match result {
        Err(StorageError::Malformed {
            table: t,
            column: c,
            ..
        }) => assert_eq!((t, c), (table, column)),
        other => panic!("expected a malformed {table}.{column}, got {other:?}"),
    }
}

async fn typed_values_round_trip(db: &Database) {
    let mut rng = rng();
    let app = client(&mut rng, None);
    let mut g = grant(&mut rng, &app);
    g.response_mode = ResponseMode::FormPost;
    g.code_challenge_method = Some(CodeChallengeMethod::Plain);
    // A client_credentials session that asked for no scope has none.
    let machine = Session {
        scope: Scope::new(),
        ..session(&mut rng, &app, None)
    };
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().add(&app).await.unwrap();
    repo.oauth2_grants().add(&g).await.unwrap();
    repo.oauth2_sessions().add(&machine).await.unwrap();
    repo.commit().await.unwrap();

    let mut read = db.read().await.unwrap();
    assert_eq!(read.oauth2_grants().find(g.id).await.unwrap(), Some(g));
    assert_eq!(
        read.oauth2_sessions().find(machine.id).await.unwrap(),
        Some(machine)
    );
}
crate::both!(typed_values_round_trip);

async fn a_malformed_stored_scope_is_an_error_naming_its_column(db: &Database) {
    let mut rng = rng();
    let alice = user(db, &mut rng, "alice").await;
    let app = client(&mut rng, None);
    let s = session(&mut rng, &app, Some(&alice));
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().add(&app).await.unwrap();
    repo.oauth2_sessions().add(&s).await.unwrap();
    repo.oauth2_access_tokens()
        .add(new_ulid(now(), &mut rng), s.id, "at-digest", now(), None)
        .await
        .unwrap();
    repo.commit().await.unwrap();
    // RFC 6749 §3.3 does not allow '"' in a scope token; mxauth never
    // writes one, so this row was changed behind its back.
    execute_raw(
        db,
        r#"UPDATE oauth2_sessions SET scope_list = 'openid "x"'"#,
    )
    .await;

    let mut read = db.read().await.unwrap();
    let (table, column) = ("oauth2_sessions", "scope_list");
    assert_malformed(read.oauth2_sessions().find(s.id).await, table, column);
    // The introspection join decodes the same column the same way.
    assert_malformed(
        read.oauth2_access_tokens().lookup("at-digest").await,
        table,
        column,
    );
    assert_malformed(
        read.users().active_session_devices(alice.id).await,
        table,
        column,
    );
    let message = read.oauth2_sessions().find(s.id).await.unwrap_err();
    assert!(
        message.to_string().contains("oauth2_sessions.scope_list"),
        "{message}"
    );
}
crate::both!(a_malformed_stored_scope_is_an_error_naming_its_column);

async fn malformed_grant_values_are_errors_naming_their_columns(db: &Database) {
    let mut rng = rng();
    let app = client(&mut rng, None);
    let g = grant(&mut rng, &app);
    let mut repo = db.begin().await.unwrap();
    repo.oauth2_clients().add(&app).await.unwrap();
    repo.oauth2_grants().add(&g).await.unwrap();
    repo.commit().await.unwrap();
    let table = "oauth2_authorization_grants";
    for (column, value) in [
        ("scope", "openid\\x"),
        ("response_mode", "web_message"),
        ("code_challenge_method", "S512"),
    ] {
        execute_raw(db, &format!("UPDATE {table} SET {column} = '{value}'")).await;
        let mut read = db.read().await.unwrap();
        assert_malformed(read.oauth2_grants().find(g.id).await, table, column);
        // Put the good value back, so the next column is the only bad one.
        let good = match column {
            "scope" => g.scope.to_string(),
            "response_mode" => g.response_mode.as_str().to_owned(),
            _ => "S256".to_owned(),
        };
        execute_raw(db, &format!("UPDATE {table} SET {column} = '{good}'")).await;
    }
    let mut read = db.read().await.unwrap();
    assert_eq!(read.oauth2_grants().find(g.id).await.unwrap(), Some(g));
}
crate::both!(malformed_grant_values_are_errors_naming_their_columns);
