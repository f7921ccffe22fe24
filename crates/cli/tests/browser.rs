//! The real-browser test: the `datahall` binary serves the demo city, headless Chromium
//! (through chromedriver) signs in, searches the catalogue in Chinese and opens an entry.
//!
//! Skipped, loudly, when Chromium or chromedriver is missing, unless
//! `DATAHALL_TEST_BROWSER=required` (CI), in which case a missing browser fails the test.

mod support;

use std::time::Duration;

use fantoccini::Locator;

#[tokio::test]
async fn signs_in_searches_and_opens_an_entry() {
    let Some(browsers) = support::browsers("browser test") else {
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
        run_in_browser(&browsers, backend, &database, dir.path()).await;
    }
}

async fn run_in_browser(
    browsers: &support::Browsers,
    backend: &str,
    database: &str,
    dir: &std::path::Path,
) {
    let server = support::serve_demo(database, &[]).await;
    let base = &server.base;
    let session =
        support::open_session(browsers, &dir.join(format!("chromium-profile-{backend}"))).await;
    let browser = &session.client;

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
        let path = support::screenshot_dir().join(format!("browser-entry-{backend}.png"));
        std::fs::write(&path, screenshot).ok();
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if result.is_err() {
        if let Ok(png) = browser.screenshot().await {
            let path = support::screenshot_dir().join("browser-failure.png");
            std::fs::write(&path, png).ok();
            eprintln!("screenshot of the failure: {}", path.display());
        }
        eprintln!("page: {}", browser.source().await.unwrap_or_default());
    }
    let _ = browser.clone().close().await;
    result.unwrap_or_else(|e| panic!("browser steps on {backend}: {e}"));
}
