//! The self-service side end to end, as a person meets it: headless
//! Chromium, a real SMTP server (aiosmtpd, see `smtp_peer.rs`) whose
//! mailbox the test reads as the person reads their mail, a real Synapse
//! behind the homeserver's proxy (synapse_peer.rs), and `mxauth server`
//! running its job worker in-process.
//!
//! One story: an application asks for a new account (`prompt=create`); the
//! person registers with a token issued by `mxauth manage`, the emailed
//! code and a display name, consents, and the application's tokens work at
//! Synapse, which has the display name. Then they change their password,
//! swap their email address (codes from the mailbox again), end a
//! session (Synapse refuses its token), recover a forgotten password
//! through the emailed link, and deactivate the account (Synapse says so).
//!
//! Then the same registration with the mail server down: the code the
//! server logs (MAS's documented workaround for broken mail) completes it
//! while the job retries.
//!
//! With `MXAUTH_SCREENSHOTS_DIR` set, the story saves each page it visits
//! there (docs/screenshots.md shows them).

use std::{collections::HashMap, path::PathBuf, time::Duration};

use serde_json::{json, Value};

use crate::{
    smtp_peer::{self, ReceivedEmail, SmtpPeer},
    support::*,
    synapse_peer::*,
    upstream_flow::{client_page, exchange_code, register_client, LoggedServer, CHALLENGE},
    webdriver::Browser,
};

const PASSWORD: &str = "correct horse battery staple";
const CHANGED: &str = "tangerine kettle umbrella 42";
const RECOVERED: &str = "violet harbour lantern 7";
const FIRST_EMAIL: &str = "alice@example.com";
const SECOND_EMAIL: &str = "alice.liddell@example.org";
const DISPLAY_NAME: &str = "Alice Liddell";
/// The device the application asks for (MSC2967's device scope).
const APP_DEVICE: &str = "APPDEVICE1";
const SCOPE: &str = "openid urn:matrix:client:api:* urn:matrix:client:device:APPDEVICE1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_registers_manages_recovers_and_deactivates_their_account() {
    let Some(synapse_venv) = venv() else { return };
    let Some(smtp_venv) = smtp_peer::venv() else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let mut gallery = Gallery::start(&browser).await;
    let smtp = SmtpPeer::start(smtp_venv, free_port());
    let (synapse_port, proxy_port) = (free_port(), free_port());
    let server_name = format!("127.0.0.1:{proxy_port}");
    let mxid = format!("@alice:{server_name}");
    let db = TestDatabase::sqlite(&temp_dir("self-service"));
    // MAS's default login limit (3 per IP) would stop this one person's
    // password checks.
    let extra = format!(
        "matrix:\n  homeserver: \"{server_name}\"\n  endpoint: \"http://127.0.0.1:{synapse_port}/\"\n  secret: {SECRET}\n\
         account:\n  password_registration_enabled: true\n  password_registration_token_required: true\n  password_recovery_enabled: true\n\
         branding:\n  service_name: Example Chat\n  tos_uri: \"https://example.com/terms\"\n\
         {}rate_limiting:\n  login:\n    per_ip: {{burst: 20, per_second: 1}}\n",
        smtp_yaml(smtp.port)
    );
    let (files, mxauth_port) = server_config("self-service", &db, &extra);
    serve_compat(&files);
    run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).succeeded();
    let issued = run(with_configs(&mut mxauth(), &files).args([
        "manage",
        "issue-user-registration-token",
        "--usage-limit",
        "1",
    ]));
    issued.succeeded();
    let registration_token = issued.stdout.trim().to_owned();
    let mut synapse = Synapse::configure(synapse_venv, synapse_port, mxauth_port, proxy_port);
    let server = LoggedServer::start(files, mxauth_port);
    synapse.start().await;
    start_proxy(proxy_port, synapse_port, mxauth_port).await;
    let base = server.server.base();
    let hs = Homeserver {
        http: reqwest::Client::new(),
        public: format!("http://127.0.0.1:{proxy_port}"),
    };

    // --- Registration, asked for by an application (OIDC prompt=create).
    let callback = format!("{}/callback", client_page().await);
    let client_id = register_client(&base, "Example Chat App", &callback).await;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    browser
        .goto(&format!(
            "{base}authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope={}&state=s1&prompt=create&code_challenge={CHALLENGE}&code_challenge_method=S256",
            encode(&callback),
            encode(SCOPE),
        ))
        .await;
    let form = browser
        .wait_for_url(|u| u.contains("/register/password"))
        .await;
    assert!(form.contains("consent"), "back to consent after: {form}");
    browser.type_into("#username", "alice").await;
    browser.type_into("#email", FIRST_EMAIL).await;
    browser.type_into("#password", PASSWORD).await;
    browser.type_into("#password_confirm", PASSWORD).await;
    browser.click("#accept_terms").await;
    gallery.shot(&browser, "register").await;
    browser
        .click("#register-password button[type=submit]")
        .await;

    browser.wait_for_url(|u| u.contains("/verify-email")).await;
    gallery.shot(&browser, "register-verify-email").await;
    let mail = mail_to(&smtp, FIRST_EMAIL, "verification code").await;
    browser.type_into("#code", &code_in(&mail)).await;
    browser
        .click("#register-verify-email button[type=submit]")
        .await;

    browser.wait_for_url(|u| u.contains("/token")).await;
    gallery.shot(&browser, "register-token").await;
    browser.type_into("#token", &registration_token).await;
    browser.click("#register-token button[type=submit]").await;

    browser.wait_for_url(|u| u.contains("/display-name")).await;
    // The form suggests the username; alice types her name over it.
    browser.clear("#display_name").await;
    browser.type_into("#display_name", DISPLAY_NAME).await;
    gallery.shot(&browser, "register-display-name").await;
    browser.click("button[name=action][value=set]").await;

    // The finish step created the account and signed it in: consent.
    browser.wait_for_url(|u| u.contains("/consent/")).await;
    let page = browser.source().await;
    assert!(
        page.contains("Example Chat App") && page.contains(&mxid),
        "{page}"
    );
    gallery.shot(&browser, "consent").await;
    browser.click("button[name=decision][value=allow]").await;
    let back = browser.wait_for_url(|u| u.starts_with(&callback)).await;
    let params: HashMap<_, _> = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(
        params.get("state").map(String::as_str),
        Some("s1"),
        "{back}"
    );
    let tokens = exchange_code(&base, &client_id, &callback, &params["code"]).await;
    let app_token = tokens["access_token"].as_str().unwrap().to_owned();

    // Synapse accepts the application's token once the worker provisioned
    // alice, and has the display name chosen at registration.
    let whoami = hs.whoami(&app_token, 200).await;
    assert_eq!(whoami["user_id"], mxid.as_str(), "{whoami}");
    assert_eq!(whoami["device_id"], APP_DEVICE, "{whoami}");
    let profile = format!("{}/_matrix/client/v3/profile/{mxid}/displayname", hs.public);
    hs.get_until(&profile, &app_token, |_, shown| {
        shown["displayname"] == DISPLAY_NAME
    })
    .await;

    // --- The account pages: profile, then a new password.
    browser.goto(&format!("{base}account/")).await;
    let page = browser.wait_for_text(DISPLAY_NAME).await;
    assert!(page.contains(FIRST_EMAIL), "{page}");
    gallery.shot(&browser, "account").await;

    browser
        .goto(&format!("{base}account/password/change"))
        .await;
    browser.type_into("#current_password", PASSWORD).await;
    browser.type_into("#new_password", CHANGED).await;
    browser.type_into("#new_password_confirm", CHANGED).await;
    gallery.shot(&browser, "account-password").await;
    browser.click(SUBMIT).await;
    browser
        .wait_for_url(|u| u.contains("notice=password_changed"))
        .await;
    assert_eq!(hs.login(PASSWORD, "PHONE").await.0, 403, "old password");
    let (status, phone) = hs.login(CHANGED, "PHONE").await;
    assert_eq!(status, 200, "{phone}");
    let phone_token = phone["access_token"].as_str().unwrap().to_owned();
    hs.whoami(&phone_token, 200).await;

    // --- Email addresses: add one (its code from the mailbox), remove the
    // first; Synapse gets the new list.
    browser.goto(&format!("{base}account/emails/add")).await;
    browser.type_into("#email", SECOND_EMAIL).await;
    gallery.shot(&browser, "account-email-add").await;
    browser.click(SUBMIT).await;
    browser
        .wait_for_url(|u| u.contains("/account/emails/verify/"))
        .await;
    let mail = mail_to(&smtp, SECOND_EMAIL, "verification code").await;
    browser.type_into("#code", &code_in(&mail)).await;
    gallery.shot(&browser, "account-email-code").await;
    browser.click(SUBMIT).await;
    browser
        .wait_for_url(|u| u.contains("notice=email_added"))
        .await;
    assert!(browser.source().await.contains(SECOND_EMAIL));
    browser
        .click(&format!("button[aria-label=\"Remove {FIRST_EMAIL}\"]"))
        .await;
    browser
        .wait_for_url(|u| u.contains("notice=email_removed"))
        .await;
    let page = browser.source().await;
    assert!(
        page.contains(SECOND_EMAIL) && !page.contains(FIRST_EMAIL),
        "{page}"
    );
    let threepids = format!("{}/_matrix/client/v3/account/3pid", hs.public);
    hs.get_until(&threepids, &app_token, |_, listed| {
        listed["threepids"]
            .as_array()
            .is_some_and(|t| t.len() == 1 && t[0]["address"] == SECOND_EMAIL)
    })
    .await;

    // --- Sessions: the phone's, ended from its details page.
    browser.goto(&format!("{base}account/sessions")).await;
    let page = browser.wait_for_text("Device PHONE").await;
    assert!(page.contains(&format!("Device {APP_DEVICE}")), "{page}");
    gallery.shot(&browser, "account-sessions").await;
    let details = browser
        .execute(
            "return [...document.querySelectorAll('li[data-session-id]')]
                .find(li => li.textContent.includes('Device PHONE'))
                .querySelector('a').href;",
        )
        .await;
    browser.goto(details.as_str().unwrap()).await;
    browser.wait_for_text("PHONE").await;
    gallery.shot(&browser, "account-session").await;
    browser.click("button.danger").await;
    browser
        .wait_for_url(|u| u.contains("notice=session_ended"))
        .await;
    assert!(!browser.source().await.contains("Device PHONE"));
    hs.whoami(&phone_token, 401).await;
    hs.whoami(&app_token, 200).await;

    // --- A forgotten password: signed out, the login page's link, the
    // emailed link (to the address added above).
    browser.click("form[action$=logout] button").await;
    browser.wait_for_url(|u| !u.contains("/account/")).await;
    browser.goto(&format!("{base}login")).await;
    browser.wait_for_url(|u| u.contains("/login")).await;
    assert_eq!(browser.count("#create-account").await, 1);
    assert_eq!(browser.count("#forgot-password").await, 1);
    gallery.shot(&browser, "login").await;
    browser.click("#forgot-password").await;
    browser.wait_for_url(|u| u.ends_with("/recover")).await;
    browser.type_into("#email", SECOND_EMAIL).await;
    gallery.shot(&browser, "recover").await;
    browser.click("#recover button[type=submit]").await;
    browser
        .wait_for_url(|u| u.contains("/recover/progress/"))
        .await;
    assert!(browser.source().await.contains(SECOND_EMAIL));
    gallery.shot(&browser, "recover-progress").await;
    let mail = mail_to(&smtp, SECOND_EMAIL, "Reset your").await;
    browser.goto(&link_in(&mail, &base)).await;
    browser
        .wait_for_url(|u| u.contains("/account/password/recovery"))
        .await;
    assert!(browser.source().await.contains(&mxid));
    browser.type_into("#new_password", RECOVERED).await;
    browser.type_into("#new_password_confirm", RECOVERED).await;
    gallery.shot(&browser, "recover-password").await;
    browser.click("#recover-password button[type=submit]").await;
    browser.wait_for_text("is set").await;
    gallery.shot(&browser, "recover-done").await;
    // "Sign out everywhere" (checked by default) ended the application's
    // session; only the new password signs in.
    hs.whoami(&app_token, 401).await;
    assert_eq!(hs.login(CHANGED, "LAPTOP").await.0, 403, "old password");
    let (status, laptop) = hs.login(RECOVERED, "LAPTOP").await;
    assert_eq!(status, 200, "{laptop}");
    let laptop_token = laptop["access_token"].as_str().unwrap().to_owned();

    // --- Deactivation, confirmed with the password.
    browser.goto(&format!("{base}account/deactivate")).await;
    browser.sign_in("alice", RECOVERED).await;
    browser
        .wait_for_url(|u| u.ends_with("/account/deactivate"))
        .await;
    browser.type_into("#password", RECOVERED).await;
    gallery.shot(&browser, "account-deactivate").await;
    browser.click("button.danger").await;
    browser.wait_for_text("has been deactivated").await;
    gallery.shot(&browser, "account-deactivated").await;
    let query = format!("http://127.0.0.1:{synapse_port}/_synapse/mas/query_user?localpart=alice");
    hs.get_until(&query, SECRET, |_, user| user["is_deactivated"] == true)
        .await;
    hs.whoami(&laptop_token, 401).await;
    assert_eq!(hs.login(RECOVERED, "TABLET").await.0, 403);

    browser.quit().await;
    synapse.stop();
    drop(server);
}

/// The mail server down: the code is in the server's log, it completes the
/// registration, and the job keeps retrying the delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_mail_server_down_the_logged_code_completes_registration() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let db = TestDatabase::sqlite(&temp_dir("self-service-no-mail"));
    // Nothing listens on this port.
    let extra = format!(
        "matrix:\n  endpoint: \"{}\"\naccount:\n  password_registration_enabled: true\n{}",
        fake_synapse(&[]),
        smtp_yaml(free_port())
    );
    let (files, port) = server_config("self-service-no-mail", &db, &extra);
    run(with_configs(&mut mxauth(), &files).args(["database", "migrate"])).succeeded();
    let server = LoggedServer::start(files, port);
    let base = server.server.base();

    browser.goto(&format!("{base}register")).await;
    browser
        .wait_for_url(|u| u.contains("/register/password"))
        .await;
    browser.type_into("#username", "bob").await;
    browser.type_into("#email", "bob@example.com").await;
    browser.type_into("#password", PASSWORD).await;
    browser.type_into("#password_confirm", PASSWORD).await;
    browser
        .click("#register-password button[type=submit]")
        .await;
    browser.wait_for_url(|u| u.contains("/verify-email")).await;

    // The first attempt logs its code; the second (after the queue's 5 s
    // backoff) logs another, and the first one still works.
    let codes = logged_codes(&server, "bob@example.com", 2).await;
    let log = server.log();
    let retried = |attempt: u32| {
        log.lines().any(|l| {
            l.contains("job failed, will retry")
                && l.contains("queue=send-email-authentication-code")
                && l.contains(&format!("attempt={attempt}"))
        })
    };
    assert!(retried(1) && retried(2), "{log}");
    browser.type_into("#code", &codes[0]).await;
    browser
        .click("#register-verify-email button[type=submit]")
        .await;
    browser.wait_for_url(|u| u.contains("/display-name")).await;
    browser.click("button[name=action][value=skip]").await;
    browser.wait_for_url(|u| u.ends_with("/account/")).await;
    let page = browser.source().await;
    assert!(
        page.contains("@bob:example.com") && page.contains("bob@example.com"),
        "{page}"
    );

    browser.quit().await;
    drop(server);
}

/// The submit button of the account page's own form (not the navigation's
/// "Sign out").
const SUBMIT: &str = "form:not([action$=logout]) button[type=submit]";

/// mxauth's `email` section for aiosmtpd on `port` (no TLS, no login).
fn smtp_yaml(port: u16) -> String {
    format!("email:\n  transport: smtp\n  mode: plain\n  hostname: 127.0.0.1\n  port: {port}\n")
}

/// The homeserver as clients reach it: through the proxy of its domain.
struct Homeserver {
    http: reqwest::Client,
    public: String,
}

impl Homeserver {
    /// A legacy password login of alice (`m.login.password`), which the
    /// proxy sends to mxauth: the status and the answer.
    async fn login(&self, password: &str, device: &str) -> (u16, Value) {
        let body = json!({"type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": password, "device_id": device,
            "initial_device_display_name": format!("Alice's {device}")});
        let url = format!("{}/_matrix/client/v3/login", self.public);
        call(&self.http, "POST", &url, None, Some(body)).await
    }

    /// Waits up to 20 s for Synapse to answer `whoami` for `token` with
    /// `status` (provisioning and ending sessions are jobs); its answer.
    async fn whoami(&self, token: &str, status: u16) -> Value {
        let url = format!("{}/_matrix/client/v3/account/whoami", self.public);
        self.get_until(&url, token, |answered, _| answered == status)
            .await
    }

    /// Polls `GET url` with `token` for up to 20 s until `check` accepts
    /// the status and answer (what Synapse learns from mxauth's jobs);
    /// fails showing the last answer.
    async fn get_until(
        &self,
        url: &str,
        token: &str,
        check: impl Fn(u16, &Value) -> bool,
    ) -> Value {
        let mut last = (0, Value::Null);
        let reached = eventually(20, async || {
            last = call(&self.http, "GET", url, Some(token), None).await;
            check(last.0, &last.1)
        })
        .await;
        assert!(reached, "GET {url}: {last:?}");
        last.1
    }
}

/// Waits up to 20 s for the message to `address` whose subject has
/// `subject` in it.
async fn mail_to(smtp: &SmtpPeer, address: &str, subject: &str) -> ReceivedEmail {
    for _ in 0..100 {
        let found = smtp.messages().into_iter().find(|m| {
            m.to.as_deref().is_some_and(|t| t.contains(address))
                && m.subject.as_deref().is_some_and(|s| s.contains(subject))
        });
        if let Some(mail) = found {
            return mail;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "no mail to {address} about {subject:?}; received: {:?}",
        smtp.messages()
    );
}

/// The 6-digit code on a line of its own in the mail's text.
fn code_in(mail: &ReceivedEmail) -> String {
    let text = mail.text.as_deref().unwrap_or_default();
    text.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_owned()
}

/// The recovery link of the mail's text, on mxauth's public address.
fn link_in(mail: &ReceivedEmail, base: &str) -> String {
    let text = mail.text.as_deref().unwrap_or_default();
    text.split_whitespace()
        .find(|w| w.starts_with(&format!("{base}account/password/recovery?ticket=")))
        .unwrap_or_else(|| panic!("no recovery link in {text}"))
        .to_owned()
}

/// Waits up to 20 s for `count` codes logged for `email` at WARN, in the
/// order they were logged.
async fn logged_codes(server: &LoggedServer, email: &str, count: usize) -> Vec<String> {
    let mut codes = Vec::new();
    for _ in 0..100 {
        codes = server
            .log()
            .lines()
            .filter(|l| l.contains(" WARN ") && l.contains(&format!("email={email}")))
            .filter_map(|l| l.split_once(" code=").map(|(_, rest)| rest[..6].to_owned()))
            .collect();
        if codes.len() >= count {
            return codes;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "{count} codes for {email} were not logged ({codes:?}):\n{}",
        server.log()
    );
}

/// Screenshots of the story's pages, for docs/screenshots.md, when
/// `MXAUTH_SCREENSHOTS_DIR` names a folder: `NN-page.png` in the order the
/// story meets them. The window has one size in every run, so the story
/// does not depend on whether pictures are taken.
struct Gallery {
    dir: Option<PathBuf>,
    taken: usize,
}

impl Gallery {
    async fn start(browser: &Browser) -> Gallery {
        browser.set_window_size(900, 1000).await;
        let dir = std::env::var_os("MXAUTH_SCREENSHOTS_DIR").map(PathBuf::from);
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).unwrap();
        }
        Gallery { dir, taken: 0 }
    }

    async fn shot(&mut self, browser: &Browser, page: &str) {
        let Some(dir) = &self.dir else { return };
        self.taken += 1;
        browser
            .screenshot(&dir.join(format!("{:02}-{page}.png", self.taken)))
            .await;
    }
}
