//! Headless Chromium driven over WebDriver: a `chromedriver` process of our own on a
//! loopback port, one session, and the handful of commands the trace-view tests use
//! (navigate, find, click, type, run a script, screenshot). WebDriver is HTTP and JSON,
//! so this is a small client over reqwest's blocking one.
//!
//! The browser comes from Debian's `chromium` and `chromium-driver` packages, which
//! `make test` installs (`scripts/setup-browser.sh`). `SPANGATE_CHROMIUM` and
//! `SPANGATE_CHROMEDRIVER` name other binaries.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::harness::free_port;

/// The W3C name of the key holding an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long `wait_for` polls: generous, for a debug gateway on shared cores.
pub const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

/// A headless Chromium session; the driver and the browser end with it.
pub struct Browser {
    client: reqwest::blocking::Client,
    session: String,
    base: String,
    driver: Child,
    profile: TempDir,
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

fn binary(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: the trace-view tests need Debian's chromium and chromium-driver \
         packages (`make test` installs them with scripts/setup-browser.sh), or {env} \
         naming another binary",
        path.display()
    );
    path
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a `width`×`height` window.
    pub fn start(width: u32, height: u32) -> Browser {
        let chromium = binary("SPANGATE_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = binary("SPANGATE_CHROMEDRIVER", "/usr/bin/chromedriver");
        let profile = tempfile::Builder::new()
            .prefix("spangate-chromium-")
            .tempdir()
            .expect("create a browser profile dir");
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver.display()));
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("build the WebDriver client");
        let base = format!("http://127.0.0.1:{port}");
        let mut browser = Browser {
            client,
            session: String::new(),
            base,
            driver,
            profile,
        };
        browser.wait_for_driver();
        browser.session = browser.new_session(&chromium, width, height);
        browser
    }

    fn wait_for_driver(&self) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let ready = self
                .client
                .get(format!("{}/status", self.base))
                .send()
                .ok()
                .and_then(|response| response.bytes().ok())
                .and_then(|body| serde_json::from_slice::<Value>(&body).ok())
                .is_some_and(|status| status["value"]["ready"] == json!(true));
            if ready {
                return;
            }
            sleep(POLL);
        }
        panic!("chromedriver did not become ready at {}", self.base);
    }

    fn new_session(&self, chromium: &Path, width: u32, height: u32) -> String {
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", self.profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let answer = self.command("POST", "/session", Some(capabilities));
        answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {answer}"))
            .to_owned()
    }

    /// One WebDriver command; panics on an error answer (with its message).
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        match self.try_command(method, path, body) {
            Ok(value) => value,
            Err(error) => panic!("WebDriver {method} {path}: {error}"),
        }
    }

    /// The answer's `value`, or the WebDriver error's `error: message`.
    fn try_command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.client.get(url),
            "DELETE" => self.client.delete(url),
            _ => self
                .client
                .post(url)
                .header("content-type", "application/json")
                .body(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let response = request.send().map_err(|e| e.to_string())?;
        let ok = response.status().is_success();
        let body = response.bytes().map_err(|e| e.to_string())?;
        let answer: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            Ok(value)
        } else {
            Err(format!("{}: {}", value["error"], value["message"]))
        }
    }

    fn session_path(&self, tail: &str) -> String {
        format!("/session/{}{tail}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.command(
            "POST",
            &self.session_path("/url"),
            Some(json!({"url": url})),
        );
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.command(
            "POST",
            &self.session_path("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs `script` with a callback as its last argument and returns what the script
    /// passes to it (WebDriver's script timeout, 30 s by default, bounds the wait).
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.command(
            "POST",
            &self.session_path("/execute/async"),
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Every element matching the CSS selector, in document order.
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let found = self.command(
            "POST",
            &self.session_path("/elements"),
            Some(json!({"using": "css selector", "value": css})),
        );
        found
            .as_array()
            .map(|elements| elements.iter().map(|e| self.element(e)).collect())
            .unwrap_or_default()
    }

    fn element(&self, reference: &Value) -> Element<'_> {
        let id = reference[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("not an element reference: {reference}"));
        Element {
            browser: self,
            id: id.to_owned(),
        }
    }

    /// The first element matching `css`, waiting for it up to [`WAIT`].
    pub fn wait_for(&self, css: &str) -> Element<'_> {
        self.wait_until(&format!("an element matching {css}"), || {
            self.find_all(css).into_iter().next()
        })
    }

    /// Polls `probe` until it gives `Some` (at most [`WAIT`]); panics naming `what` and
    /// showing the page's text otherwise.
    pub fn wait_until<T>(&self, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(found) = probe() {
                return found;
            }
            if Instant::now() > deadline {
                let text = self.execute("return document.body.innerText", vec![]);
                panic!(
                    "waited {WAIT:?} for {what}; the page shows:\n{}",
                    text.as_str().unwrap_or("")
                );
            }
            sleep(POLL);
        }
    }

    /// The text of every element matching `css`.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.find_all(css).iter().map(Element::text).collect()
    }

    /// Writes a PNG of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        let data = self.command("GET", &self.session_path("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("screenshot as base64"))
            .expect("screenshot base64");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the screenshot dir");
        }
        std::fs::write(path, png).expect("write the screenshot");
    }
}

impl Element<'_> {
    fn path(&self, tail: &str) -> String {
        self.browser
            .session_path(&format!("/element/{}{tail}", self.id))
    }

    pub fn text(&self) -> String {
        let text = self.browser.command("GET", &self.path("/text"), None);
        text.as_str().unwrap_or("").to_owned()
    }

    pub fn click(&self) {
        self.browser.command("POST", &self.path("/click"), None);
    }

    pub fn clear(&self) {
        self.browser.command("POST", &self.path("/clear"), None);
    }

    /// Types `text` as key presses (`\u{E007}` is Enter, `\u{E004}` Tab).
    pub fn send_keys(&self, text: &str) {
        self.browser
            .command("POST", &self.path("/value"), Some(json!({"text": text})));
    }

    /// The DOM property `name` (`value`, `hidden`, ...).
    pub fn property(&self, name: &str) -> Value {
        self.browser
            .command("GET", &self.path(&format!("/property/{name}")), None)
    }

    pub fn attribute(&self, name: &str) -> Option<String> {
        let value = self
            .browser
            .command("GET", &self.path(&format!("/attribute/{name}")), None);
        value.as_str().map(str::to_owned)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_command("DELETE", &self.session_path(""), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where screenshots of a test go: `$CARGO_TARGET_DIR/test-artefacts/<name>/` (else
/// `target/` of the workspace), created.
pub fn artefact_dir(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || crate::harness::crate_dir().join("../target"),
        PathBuf::from,
    );
    let dir = target.join("test-artefacts").join(name);
    std::fs::create_dir_all(&dir).expect("create the test-artefacts dir");
    dir
}
