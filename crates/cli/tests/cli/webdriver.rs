//! A minimal W3C WebDriver client (just what the browser tests need),
//! talking to Debian's `chromedriver` driving headless Chromium.

use std::{path::PathBuf, process::Child, time::Duration};

use serde_json::{json, Value};

use crate::support::skip_notice;

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    _profile: PathBuf,
}

/// Where Debian puts them.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

impl Browser {
    /// `None` outside CI when Chromium is not installed.
    pub async fn start() -> Option<Browser> {
        if !std::path::Path::new(CHROMEDRIVER).exists() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but {CHROMEDRIVER} is missing: .ci/run installs chromium-driver");
            }
            skip_notice(&format!("{CHROMEDRIVER} is missing: skipping the browser test (apt-get install chromium chromium-driver)"));
            return None;
        }
        let port = crate::support::free_port();
        let driver = std::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = crate::support::temp_dir("chromium-profile");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--window-size=1000,900",
                         format!("--user-data-dir={}", profile.display())],
            }
        }}});
        let mut browser = Browser {
            http,
            base,
            session: String::new(),
            driver,
            _profile: profile,
        };
        let created = browser.call("POST", "/session", Some(capabilities)).await;
        browser.session = created["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_owned();
        Some(browser)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url),
        };
        let request = request
            .header("content-type", "application/json")
            .body(body.unwrap_or(json!({})).to_string());
        let text = request.send().await.unwrap().text().await.unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert!(
            value["value"].get("error").is_none(),
            "WebDriver {method} {path}: {text}"
        );
        value["value"].clone()
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", &self.path("/url"), Some(json!({ "url": url })))
            .await;
    }

    pub async fn url(&self) -> String {
        self.call("GET", &self.path("/url"), None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn source(&self) -> String {
        self.call("GET", &self.path("/source"), None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .call(
                "POST",
                &self.path("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found[ELEMENT_KEY].as_str().unwrap().to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(
            "POST",
            &self.path(&format!("/element/{id}/value")),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Empties a text field (W3C WebDriver "Element Clear"), as a person
    /// does before typing over a suggested value.
    pub async fn clear(&self, css: &str) {
        let id = self.element(css).await;
        self.call("POST", &self.path(&format!("/element/{id}/clear")), None)
            .await;
    }

    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call("POST", &self.path(&format!("/element/{id}/click")), None)
            .await;
    }

    /// How many elements on the page match `css` (0 without failing).
    pub async fn count(&self, css: &str) -> usize {
        let found = self
            .call(
                "POST",
                &self.path("/elements"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found.as_array().map_or(0, Vec::len)
    }

    /// Runs `script` (a function body; `return` gives the result) in the page.
    pub async fn execute(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.path("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Sets the outer window size in CSS pixels (W3C WebDriver "Set Window
    /// Rect"), so screenshots of one story have one size.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &self.path("/window/rect"),
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Saves a PNG screenshot (for people looking at the test's output).
    pub async fn screenshot(&self, file: &std::path::Path) {
        use base64::Engine;
        let data = self.call("GET", &self.path("/screenshot"), None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        std::fs::write(file, png).unwrap();
    }

    /// Waits until the page's URL satisfies `check`, for at most 10 s.
    pub async fn wait_for_url(&self, check: impl Fn(&str) -> bool) -> String {
        for _ in 0..100 {
            let url = self.url().await;
            if check(&url) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = self
            .execute("return document.body ? document.body.innerText : '';")
            .await;
        let text: String = text
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(2000)
            .collect();
        panic!(
            "the browser stayed at {}, showing:\n{text}",
            self.url().await
        );
    }

    /// Waits until the page's text shows `text`, for at most 10 s (a form
    /// answered on the same address), and returns the page's source.
    pub async fn wait_for_text(&self, text: &str) -> String {
        for _ in 0..100 {
            let source = self.source().await;
            if source.contains(text) {
                return source;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{text:?} did not show at {}:\n{}",
            self.url().await,
            self.source().await
        );
    }

    /// Waits for mxauth's login page (where a page that needs a signed-in
    /// browser sends it) and signs in there with a password.
    pub async fn sign_in(&self, username: &str, password: &str) {
        self.wait_for_url(|u| u.contains("/login?")).await;
        self.type_into("#username", username).await;
        self.type_into("#password", password).await;
        self.click("button[type=submit]").await;
    }

    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}{}", self.base, self.path("")))
            .send()
            .await;
        self.session.clear();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A test that fails before `quit` still closes Chromium: the session is
/// deleted with a blocking request (no runtime to await on in `drop`), then
/// the driver is stopped.
impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            use std::io::{Read, Write};
            let address = self.base.trim_start_matches("http://");
            if let Ok(mut stream) = std::net::TcpStream::connect(address) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = write!(
                    stream,
                    "DELETE /session/{} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.session
                );
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
