//! The real-browser test: the `datahall` binary serves the demo city, headless Chromium
//! (through chromedriver) signs in, searches the catalogue in Chinese and opens an entry.
//!
//! Skipped, loudly, when Chromium or chromedriver is missing, unless
//! `DATAHALL_TEST_BROWSER=required` (CI), in which case a missing browser fails the test.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find(program: &str, candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
        .or_else(|| {
            let output = Command::new("which").arg(program).output().ok()?;
            output
                .status
                .success()
                .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
        })
}

async fn wait_for(url: &str, limit: Duration) -> Duration {
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

#[tokio::test]
async fn signs_in_searches_and_opens_an_entry() {
    let required = std::env::var("DATAHALL_TEST_BROWSER").is_ok_and(|v| v == "required");
    let chromium = find("chromium", &["/usr/bin/chromium"]);
    let driver = find("chromedriver", &["/usr/bin/chromedriver"]);
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        assert!(
            !required,
            "DATAHALL_TEST_BROWSER=required but chromium/chromedriver are not installed"
        );
        testkit::announce("SKIPPED browser test: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)");
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let mut databases = vec![(
        "sqlite",
        format!("sqlite://{}", dir.path().join("demo.db").display()),
    )];
    // The same run on PostgreSQL when a server is configured (CI).
    let postgres = testkit::postgres_database().await;
    if let Some(pg) = &postgres {
        databases.push(("postgres", pg.url.clone()));
    }
    for (backend, database) in databases {
        run_in_browser(&chromium, &driver, backend, &database, dir.path()).await;
    }
}

async fn run_in_browser(
    chromium: &str,
    driver: &str,
    backend: &str,
    database: &str,
    dir: &std::path::Path,
) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let _server = Killed(
        Command::new(env!("CARGO_BIN_EXE_datahall"))
            .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--database")
            .arg(database)
            .env("DATAHALL_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("datahall starts"),
    );
    wait_for(&format!("{base}/login"), Duration::from_secs(120)).await;
    testkit::announce(&format!(
        "datahall serve --demo on {backend}: first page served {} ms after start",
        started.elapsed().as_millis()
    ));

    let driver_port = free_port();
    let _driver = Killed(
        Command::new(driver)
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
    let profile = dir.join(format!("chromium-profile-{backend}"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1366,768",
                     format!("--user-data-dir={}", profile.display())]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let browser = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("WebDriver session");

    let result = async {
        browser.goto(&format!("{base}/")).await?;
        assert!(
            browser.current_url().await?.path().ends_with("/login"),
            "signed-out visitors land on the login page"
        );
        assert!(
            browser.source().await?.contains("gaj-chief"),
            "demo mode lists the demo accounts"
        );
        browser
            .find(Locator::Id("username"))
            .await?
            .send_keys("admin")
            .await?;
        browser
            .find(Locator::Id("password"))
            .await?
            .send_keys("demo-password")
            .await?;
        browser
            .find(Locator::Css("form button[type=submit]"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::XPath("//h1[text()='我的待办']"))
            .await?;

        browser.goto(&format!("{base}/catalogue")).await?;
        let search = browser.find(Locator::Css("input[name=q]")).await?;
        search.send_keys("户籍").await?;
        browser
            .find(Locator::Css("form.filters button[type=submit]"))
            .await?
            .click()
            .await?;
        // The unfiltered list also links the entry: wait for the search's own page.
        for _ in 0..100 {
            if browser
                .current_url()
                .await?
                .query()
                .is_some_and(|q| q.contains("q="))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let results = browser
            .wait()
            .for_element(Locator::Id("results"))
            .await?
            .text()
            .await?;
        let link = browser.find(Locator::LinkText("常住人口户籍信息")).await?;
        assert!(
            !results.contains("机动车登记信息"),
            "the search narrows the list: {results}"
        );
        link.click().await?;
        browser
            .wait()
            .for_element(Locator::XPath("//h1[text()='常住人口户籍信息']"))
            .await?;
        let items = browser.find(Locator::Id("items")).await?.text().await?;
        assert!(
            items.contains("公民身份号码") && items.contains("id_number"),
            "the entry shows its items: {items}"
        );
        let page = browser.source().await?;
        assert!(
            page.contains("信息资源提供方代码") || page.contains("提供方代码"),
            "core metadata shown"
        );
        let screenshot = browser.screenshot().await?;
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("browser-entry-{backend}.png"));
        std::fs::write(&path, screenshot).ok();
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if result.is_err() {
        if let Ok(png) = browser.screenshot().await {
            let path =
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-failure.png");
            std::fs::write(&path, png).ok();
            eprintln!("screenshot of the failure: {}", path.display());
        }
        eprintln!("page: {}", browser.source().await.unwrap_or_default());
    }
    let _ = browser.close().await;
    result.unwrap_or_else(|e| panic!("browser steps on {backend}: {e}"));
}
