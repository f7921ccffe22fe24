//! What the browser tests share: the `datahall` binary serving the demo city, chromedriver
//! and a headless Chromium session. Each test file uses a part of it.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

/// A child process killed when this is dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find(program: &str, candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|p| Path::new(p).exists())
        .map(|p| p.to_string())
        .or_else(|| {
            let output = Command::new("which").arg(program).output().ok()?;
            output
                .status
                .success()
                .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
        })
}

/// Waits until `url` answers 2xx, at most `limit`; returns how long it took.
pub async fn wait_for(url: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    let client: hyper_util::client::legacy::Client<_, String> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    loop {
        if let Ok(response) = client.get(url.parse().unwrap()).await {
            if response.status().is_success() {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < limit,
            "{url} did not answer within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The installed Chromium and chromedriver.
pub struct Browsers {
    pub chromium: String,
    pub driver: String,
}

/// Chromium and chromedriver, or `None` (announced) when they are not installed. With
/// `DATAHALL_TEST_BROWSER=required` (CI) a missing browser fails the test.
pub fn browsers(test: &str) -> Option<Browsers> {
    let required = std::env::var("DATAHALL_TEST_BROWSER").is_ok_and(|v| v == "required");
    let chromium = find("chromium", &["/usr/bin/chromium"]);
    let driver = find("chromedriver", &["/usr/bin/chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some(Browsers { chromium, driver }),
        _ => {
            assert!(
                !required,
                "DATAHALL_TEST_BROWSER=required but chromium/chromedriver are not installed"
            );
            testkit::announce(&format!("SKIPPED {test}: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"));
            None
        }
    }
}

/// `datahall serve --demo` on a free port of 127.0.0.1.
pub struct DemoServer {
    pub base: String,
    pub port: u16,
    _process: Killed,
}

pub async fn serve_demo(database: &str, env: &[(&str, &str)]) -> DemoServer {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let process = Killed(
        Command::new(env!("CARGO_BIN_EXE_datahall"))
            .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--database")
            .arg(database)
            .env("DATAHALL_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("datahall starts"),
    );
    wait_for(&format!("{base}/login"), Duration::from_secs(120)).await;
    testkit::announce(&format!(
        "datahall serve --demo ({}): first page served {} ms after start",
        database.split(':').next().unwrap_or(""),
        started.elapsed().as_millis()
    ));
    DemoServer {
        base,
        port,
        _process: process,
    }
}

/// chromedriver and one headless Chromium session under it.
pub struct Session {
    pub client: Client,
    _driver: Killed,
}

pub async fn open_session(browsers: &Browsers, profile: &Path) -> Session {
    let driver_port = free_port();
    let driver = Killed(
        Command::new(&browsers.driver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    wait_for(
        &format!("http://127.0.0.1:{driver_port}/status"),
        Duration::from_secs(30),
    )
    .await;
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": browsers.chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1366,900",
                     format!("--user-data-dir={}", profile.display())]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("WebDriver session");
    Session {
        client,
        _driver: driver,
    }
}

/// Where screenshots go: `<target>/screenshots/`.
pub fn screenshot_dir() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|target| target.join("screenshots"))
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"));
    std::fs::create_dir_all(&dir).ok();
    dir
}

/// `rows` distinct valid resident ID numbers, from legacy 15-digit ones.
pub fn id_numbers(rows: usize) -> Vec<String> {
    (0..rows as u32)
        .map(|n| {
            let legacy = format!(
                "110105{:02}{:02}{:02}{:03}",
                30 + n / 336_000,
                1 + (n / 28_000) % 12,
                1 + (n / 1000) % 28,
                n % 1000
            );
            domain::ids::IdCardNumber::parse(&legacy)
                .unwrap()
                .to_string()
        })
        .collect()
}

/// A CSV of every id with the name `<tag><n>`: each trial's tag makes its file (and so its
/// batch) new, and tells its rows from the previous ones.
pub fn write_csv(path: &Path, ids: &[String], tag: &str) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "公民身份号码,姓名").unwrap();
    for (n, id) in ids.iter().enumerate() {
        writeln!(out, "{id},{tag}{n}").unwrap();
    }
    out.flush().unwrap();
}

/// `datahall serve --demo` on `port` with its access log journaled in `journal` (no
/// scheduler).
pub fn serve_journaled(database: &str, port: u16, journal: &Path, stderr: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_datahall"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--database")
        .arg(database)
        .env("DATAHALL_LOG", "warn")
        .env("DATAHALL_SCHEDULER", "false")
        .env("DATAHALL_ACCESS_JOURNAL_DIR", journal)
        .env(
            "DATAHALL_AUDIT_ANCHOR_FILE",
            journal.with_extension("anchor"),
        )
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

pub fn wait_until_listening(address: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(address).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One data API call (for an entry that does not exist, so a 404 when it is logged);
/// its status and body when the answer came back whole.
pub fn data_call(address: &str, token: &str) -> Option<(u16, String)> {
    use std::io::Read;
    let mut connection = std::net::TcpStream::connect(address).ok()?;
    let request = format!(
        "GET /api/v1/data/999999/000001/records HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    connection.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    let _ = connection.read_to_string(&mut answer);
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    body.starts_with('{').then(|| (status, body.to_string()))
}

/// The demo's 民政局 低保审批系统 token (the same at every start).
pub fn demo_token() -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest("datahall-demo:mzj:低保审批系统"));
    format!("dhapp_demo_mzj_{}", &digest[..24])
}
