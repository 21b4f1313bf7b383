//! The admin console through the real router, in process: who may see it
//! (an admin; others get 403; a signed-out browser is sent to log in),
//! that a form without its CSRF token changes nothing, and each action's
//! effect in the database, the job it queues and the line it logs.

mod access;
mod accounts;
mod contents;
mod registration_tokens;
mod users;

use std::sync::{Arc, Mutex};

use mxauth_model::{Clock, User};
use mxauth_storage::{new_ulid, QueuedJob};

use crate::{
    jobs::{run_batch, JobContext},
    test_support::{add_user, csrf_of, test_state, Browser, TestResponse, TestState},
};

/// A state with root (an admin, password `rootpassword`) signed in in a
/// browser, bob (a user, password `builder`), and the router.
struct Console {
    t: TestState,
    router: axum::Router,
    browser: Browser,
    root: User,
    bob: User,
}

impl Console {
    async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// As [`Console::new`], with the state changed by `change` first.
    async fn with(change: impl FnOnce(&mut TestState)) -> Self {
        let mut t = test_state().await;
        change(&mut t);
        let router = crate::test_support::router_for(&t.state, "");
        let root = add_user(&t.state, "root", "rootpassword").await;
        let mut repo = t.state.db.begin().await.unwrap();
        let root = repo
            .users()
            .set_can_request_admin(root, true)
            .await
            .unwrap();
        repo.commit().await.unwrap();
        // Lists are in creation order (ULIDs): bob comes a second later.
        t.clock.advance(chrono::Duration::seconds(1));
        let bob = add_user(&t.state, "bob", "builder").await;
        let mut browser = Browser::default();
        let response = browser.log_in(&router, "root", "rootpassword").await;
        assert_eq!(response.status, 303, "{}", response.body);
        Self {
            t,
            router,
            browser,
            root,
            bob,
        }
    }

    /// The page at `path`, which must answer 200.
    async fn page(&mut self, path: &str) -> String {
        let page = self.browser.get(&self.router, path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        page.body
    }

    /// Posts `form` to `path` with the CSRF token of the page at `from`.
    async fn post_from(&mut self, from: &str, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let csrf = csrf_of(&self.page(from).await);
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.browser.post(&self.router, path, &fields).await
    }

    /// Posts `form` to one of bob's forms (`/admin/users/{bob}/{action}`)
    /// from bob's page.
    async fn post_bob(&mut self, action: &str, form: &[(&str, &str)]) -> TestResponse {
        let page = self.bob_page();
        let path = format!("{page}/{action}");
        self.post_from(&page, &path, form).await
    }

    fn bob_page(&self) -> String {
        format!("/admin/users/{}", self.bob.id)
    }

    /// The user `username` as stored now.
    async fn user(&self, username: &str) -> User {
        let mut repo = self.t.state.db.read().await.unwrap();
        repo.users()
            .find_by_username(username)
            .await
            .unwrap()
            .unwrap()
    }

    /// The jobs of `queue` queued so far.
    async fn jobs(&self, queue: &str) -> Vec<QueuedJob> {
        let mut repo = self.t.state.db.read().await.unwrap();
        repo.jobs().list(queue).await.unwrap()
    }

    /// The audit trail so far: `(actor, action, target type, target id)`.
    async fn events(&self) -> Vec<(String, String, String, String)> {
        let all = mxauth_storage::Pagination {
            after: None,
            before: None,
            limit: 1000,
            from_end: false,
        };
        let mut repo = self.t.state.db.read().await.unwrap();
        let page = repo
            .audit_events()
            .page(&Default::default(), all)
            .await
            .unwrap();
        page.items
            .into_iter()
            .map(|e| (e.actor, e.action, e.target_type, e.target_id))
            .collect()
    }

    /// Runs the queued jobs against the fake homeserver.
    async fn run_jobs(&self) {
        let ctx = JobContext::from_state(&self.t.state);
        run_batch(&ctx, "test").await.unwrap();
    }

    /// Adds users `prefix00`, `prefix01`… directly in the database, a
    /// millisecond apart (so in that order).
    async fn add_many(&self, prefix: &str, n: usize) {
        let mut repo = self.t.state.db.begin().await.unwrap();
        for i in 0..n {
            self.t.clock.advance(chrono::Duration::milliseconds(1));
            let now = self.t.clock.now();
            let id = new_ulid(now, &mut rand::rngs::OsRng);
            repo.users()
                .add(id, &format!("{prefix}{i:02}"), now)
                .await
                .unwrap();
        }
        repo.commit().await.unwrap();
    }
}

/// The redirect's target, which must be a 303.
fn see_other(response: &TestResponse) -> String {
    assert_eq!(response.status, 303, "{}", response.body);
    response.header("location").unwrap()
}

/// Whether `logs` has the audit line of root doing `action` to the target
/// named `name` (the console's span names it; `ops::audit` writes the
/// rest).
fn audited(logs: &str, action: &str, name: &str) -> bool {
    logs.lines().any(|line| {
        line.contains(&format!("console{{target_name={name}}}"))
            && line.contains("admin action admin=user root")
            && (line.contains(&format!("action={action} "))
                || line.contains(&format!("action=\"{action}\"")))
    })
}

/// The log lines written while `f` runs (on this thread: the tests run on
/// tokio's current-thread runtime).
async fn logged<F: std::future::Future>(f: F) -> (F::Output, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let output = f.await;
    drop(guard);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (output, text)
}
