//! The data hall's pages: sessions, CSRF, the editor's inline messages, role pages.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{TestApp, PASSWORD};

/// A browser-like session: cookies and the CSRF token of the last page.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<String>,
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: vec![],
        }
    }

    async fn request(
        &mut self,
        method: Method,
        uri: &str,
        form: Option<&[(&str, &str)]>,
    ) -> common::Response {
        let mut builder = Request::builder().method(method).uri(uri);
        if !self.cookies.is_empty() {
            builder = builder.header(header::COOKIE, self.cookies.join("; "));
        }
        let body = match form {
            Some(pairs) => {
                builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(pairs).unwrap())
            }
            None => Body::empty(),
        };
        let response = self.app.send(builder.body(body).unwrap()).await;
        for set in response.headers.get_all(header::SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
            let name = pair.split('=').next().unwrap().to_string();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            if !pair.ends_with('=') {
                self.cookies.push(pair);
            }
        }
        response
    }

    fn text(response: &common::Response) -> String {
        String::from_utf8_lossy(&response.bytes).to_string()
    }

    async fn sign_in(&mut self, username: &str) -> common::Response {
        let page = self.request(Method::GET, "/login", None).await;
        let csrf = csrf_in(&Self::text(&page));
        self.request(
            Method::POST,
            "/login",
            Some(&[
                ("username", username),
                ("password", PASSWORD),
                ("_csrf", &csrf),
            ]),
        )
        .await
    }
}

#[tokio::test]
async fn login_sets_a_protected_session_cookie() {
    let app = TestApp::new(testkit::sqlite().await, false).await;
    let mut browser = Browser::new(&app);
    let home = browser.request(Method::GET, "/", None).await;
    assert_eq!(
        (
            home.status,
            home.headers[header::LOCATION].to_str().unwrap()
        ),
        (StatusCode::SEE_OTHER, "/login")
    );

    let page = browser.request(Method::GET, "/login", None).await;
    assert!(Browser::text(&page).contains("黄山市政务数据归集共享平台"));
    let forged = browser
        .request(
            Method::POST,
            "/login",
            Some(&[
                ("username", "admin"),
                ("password", PASSWORD),
                ("_csrf", "forged"),
            ]),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let signed_in = browser.sign_in("gaj-staff").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let cookie = signed_in
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("dh_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let home = browser.request(Method::GET, "/", None).await;
    assert!(Browser::text(&home).contains("我的待办"));

    // The web session is not an API credential.
    let session = browser
        .cookies
        .iter()
        .find(|c| c.starts_with("dh_session="))
        .unwrap()
        .trim_start_matches("dh_session=")
        .to_string();
    assert_eq!(
        app.get("/api/v1/me", &session).await.status,
        StatusCode::UNAUTHORIZED
    );

    let csrf = csrf_in(&Browser::text(&home));
    let out = browser
        .request(Method::POST, "/logout", Some(&[("_csrf", &csrf)]))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        browser.request(Method::GET, "/", None).await.status,
        StatusCode::SEE_OTHER,
        "signed out"
    );
    let filter = store::audit::AuditFilter {
        action: Some("auth.logout".into()),
        ..Default::default()
    };
    let (logouts, _) = app.store.audit_list(&filter, 5).await.unwrap();
    assert_eq!(logouts[0].actor.as_deref(), Some("gaj-staff"));
    let wrong = Browser::new(&app)
        .request(Method::GET, "/login", None)
        .await;
    assert!(
        !Browser::text(&wrong).contains("gaj-chief"),
        "demo accounts are listed only in demo mode"
    );
}

#[tokio::test]
async fn editor_keeps_input_and_shows_messages_next_to_fields() {
    for app in TestApp::all(false).await {
        let mut browser = Browser::new(&app);
        browser.sign_in("gaj-staff").await;
        let form_page = browser.request(Method::GET, "/catalogue/new", None).await;
        let csrf = csrf_in(&Browser::text(&form_page));
        let mut fields = vec![
            ("name", "婚姻登记信息"),
            ("class_kind", "departmental"),
            ("subclass", "1"),
            ("category", "1"),
            ("summary", "全市婚姻登记记录"),
            ("format_kind", "database"),
            ("share_type", "conditional"),
            ("share_mode", "platform"),
            ("open_to_public", "否"),
            ("update_cycle", "daily"),
            ("security_grade", "important"),
            ("item_name", "登记证号"),
            ("item_identifier", "cert_no"),
            ("item_type", "C"),
            ("item_length", ""),
            ("item_required", "是"),
            ("item_key", "是"),
            ("item_grade", "general"),
            ("item_personal", "否"),
            ("item_share", ""),
            ("item_authoritative", "否"),
        ];
        let without_csrf = browser
            .request(Method::POST, "/catalogue/new", Some(&fields))
            .await;
        assert_eq!(
            without_csrf.status,
            StatusCode::FORBIDDEN,
            "{}",
            app.backend
        );

        fields.push(("_csrf", &csrf));
        let invalid = browser
            .request(Method::POST, "/catalogue/new", Some(&fields))
            .await;
        let html = Browser::text(&invalid);
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        assert!(html.contains("有条件共享的资源必须填写共享条件"), "{html}");
        assert!(
            html.contains("信息项第1行长度：字符型必须填写数据长度"),
            "item messages name the row and the column in Chinese: {html}"
        );
        assert!(!html.contains("length："), "no English field names");
        assert!(html.contains("value=\"婚姻登记信息\""), "input is kept");
        assert_eq!(
            app.store
                .search_resources(&Default::default(), store::resources::Visibility::All)
                .await
                .unwrap()
                .total,
            0
        );

        fields.retain(|(k, _)| *k != "item_length");
        fields.push(("item_length", "20"));
        fields.push(("conditions", "用于婚姻状况核验"));
        let created = browser
            .request(Method::POST, "/catalogue/new", Some(&fields))
            .await;
        assert_eq!(
            created.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&created)
        );
        let location = created.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            location.starts_with("/catalogue/301001/000001?notice="),
            "{location}"
        );
        let detail = browser.request(Method::GET, &location, None).await;
        let html = Browser::text(&detail);
        assert!(
            html.contains("用于婚姻状况核验") && html.contains("cert_no") && html.contains("草稿")
        );

        // Submit through the workflow form; the chief then sees it in the review queue.
        let csrf = csrf_in(&html);
        let submitted = browser
            .request(
                Method::POST,
                "/catalogue/301001/000001/workflow",
                Some(&[("_csrf", &csrf), ("action", "submit")]),
            )
            .await;
        assert_eq!(submitted.status, StatusCode::SEE_OTHER);
        let mut chief = Browser::new(&app);
        chief.sign_in("gaj-chief").await;
        let review = chief.request(Method::GET, "/review", None).await;
        assert!(
            Browser::text(&review).contains("婚姻登记信息"),
            "{}",
            app.backend
        );
    }
}

#[tokio::test]
async fn pages_follow_roles() {
    let app = TestApp::new(testkit::sqlite().await, false).await;
    let mut staff = Browser::new(&app);
    staff.sign_in("gaj-staff").await;
    assert_eq!(
        staff.request(Method::GET, "/audit", None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        staff
            .request(Method::GET, "/admin/users", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    app.store.flush_denials().await.unwrap();
    let mut auditor = Browser::new(&app);
    auditor.sign_in("auditor").await;
    let audit = auditor.request(Method::GET, "/audit", None).await;
    let html = Browser::text(&audit);
    assert!(
        html.contains("立即校验") && html.contains("/audit") && html.contains("拒绝访问"),
        "the staff's refusals are listed"
    );
    // In Chinese (issue 13, UI quality): roles and actions by name, not by code.
    for named in [
        "登录",
        "工作人员",
        "接口请求（GET）",
        "<option value=\"auth.login\">登录</option>",
    ] {
        assert!(html.contains(named), "the audit viewer shows {named}");
    }
    for code in [">auth.login<", ">staff<", ">http.get<"] {
        assert!(
            !html.contains(code),
            "the audit viewer shows the code {code}"
        );
    }
    let mut admin = Browser::new(&app);
    admin.sign_in("admin").await;
    let users = admin.request(Method::GET, "/admin/users", None).await;
    assert!(Browser::text(&users).contains("gaj-chief"));
    let csrf = csrf_in(&Browser::text(&users));
    let duplicate_chief = admin
        .request(
            Method::POST,
            "/admin/users",
            Some(&[
                ("_csrf", &csrf),
                ("username", "gaj-chief2"),
                ("display_name", "李四"),
                ("password", "long-enough-password"),
                ("role", "chief"),
                ("department_id", &app.gaj.id.to_string()),
            ]),
        )
        .await;
    assert!(Browser::text(&duplicate_chief).contains("每个部门只能有一名首席代表"));
}

#[tokio::test]
async fn import_page_reports_problems_by_sheet_row_and_column() {
    let app = TestApp::new(testkit::sqlite().await, false).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("gaj-staff").await;
    let page = browser
        .request(Method::GET, "/catalogue/import", None)
        .await;
    let csrf = csrf_in(&Browser::text(&page));
    let mut bad = testkit::fixtures::body("低保对象信息");
    bad.share.share_type = domain::catalogue::ShareType::Conditional;
    let good = testkit::fixtures::body("婚姻登记信息");
    let entries: Vec<ingest::TemplateEntry> = [good, bad]
        .into_iter()
        .map(|body| ingest::TemplateEntry {
            code: None,
            provider_name: String::new(),
            status_label: String::new(),
            body,
        })
        .collect();
    let file = ingest::write_template(&entries).unwrap();

    let upload = |partial: bool| {
        let boundary = "datahallboundary";
        let mut body = Vec::new();
        let mut field = |name: &str, value: &[u8], filename: Option<&str>| {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"")
                    .as_bytes(),
            );
            if let Some(filename) = filename {
                body.extend_from_slice(
                    format!("; filename=\"{filename}\"\r\nContent-Type: application/octet-stream")
                        .as_bytes(),
                );
            }
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        };
        field("_csrf", csrf.as_bytes(), None);
        if partial {
            field("partial", b"true", None);
        }
        field("file", &file, Some("目录.xlsx"));
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Request::builder()
            .method(Method::POST)
            .uri("/catalogue/import")
            .header(header::COOKIE, browser.cookies.join("; "))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap()
    };
    let strict = app.send(upload(false)).await;
    let html = Browser::text(&strict);
    assert!(
        html.contains("未导入任何目录") && html.contains("共享条件") && html.contains(">3<"),
        "{html}"
    );
    assert_eq!(
        app.store
            .search_resources(&Default::default(), store::resources::Visibility::All)
            .await
            .unwrap()
            .total,
        0
    );
    let partial = app.send(upload(true)).await;
    assert!(
        Browser::text(&partial).contains("已导入 1 条目录"),
        "{}",
        Browser::text(&partial)
    );
    assert_eq!(
        app.store
            .search_resources(&Default::default(), store::resources::Visibility::All)
            .await
            .unwrap()
            .total,
        1
    );
}

#[tokio::test]
async fn staff_upload_a_csv_from_the_entry_page() {
    let app = TestApp::new(testkit::sqlite().await, false).await;
    let code = app.published_entry("常住人口户籍信息").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("gaj-staff").await;
    let detail = browser
        .request(Method::GET, &format!("/catalogue/{code}"), None)
        .await;
    assert!(Browser::text(&detail).contains(&format!("/catalogue/{code}/upload")));
    let page = browser
        .request(Method::GET, &format!("/catalogue/{code}/upload"), None)
        .await;
    let csrf = csrf_in(&Browser::text(&page));
    let id = domain::ids::IdCardNumber::parse("110105491231002")
        .unwrap()
        .to_string();
    let csv = format!("公民身份号码,姓名\n{id},张三\n110105194912310021,李四\n");
    let boundary = "uploadboundary";
    let multipart = |parts: &[(&str, &[u8], Option<&str>)]| {
        let mut body = Vec::new();
        for (name, value, filename) in parts {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"")
                    .as_bytes(),
            );
            if let Some(filename) = filename {
                body.extend_from_slice(
                    format!("; filename=\"{filename}\"\r\nContent-Type: text/csv").as_bytes(),
                );
            }
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    };
    let body = multipart(&[
        ("_csrf", csrf.as_bytes(), None),
        ("encoding", b"auto".as_slice(), None),
        ("file", csv.as_bytes(), Some("export.csv")),
    ]);
    let send = |cookies: &[String], body: Vec<u8>| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/catalogue/{code}/upload"))
            .header(header::COOKIE, cookies.join("; "))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap()
    };
    // A form whose token does not come first is no form of the page's: refused before the
    // rest is read; a text field is read up to 64 KiB, never whole into memory.
    let token_last = multipart(&[
        ("encoding", b"auto".as_slice(), None),
        ("_csrf", csrf.as_bytes(), None),
        ("file", csv.as_bytes(), Some("export.csv")),
    ]);
    assert_eq!(
        app.send(send(&browser.cookies, token_last)).await.status,
        StatusCode::FORBIDDEN
    );
    let huge = vec![b'a'; 1 << 20];
    let flood = multipart(&[
        ("_csrf", csrf.as_bytes(), None),
        ("mapping", &huge, None),
        ("file", csv.as_bytes(), Some("export.csv")),
    ]);
    let flooded = app.send(send(&browser.cookies, flood)).await;
    assert_eq!(flooded.status, StatusCode::BAD_REQUEST);
    assert!(Browser::text(&flooded).contains("内容超过 64 KiB"));
    let request = |cookies: &[String]| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/catalogue/{code}/upload"))
            .header(header::COOKIE, cookies.join("; "))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let result = app.send(request(&browser.cookies)).await;
    let html = Browser::text(&result);
    assert!(
        html.contains("收到 2 行，入库 1 行，隔离 1 行") && html.contains("110105********0021"),
        "{html}"
    );
    let mut other = Browser::new(&app);
    other.sign_in("mzj-staff").await;
    let refused = app.send(request(&other.cookies)).await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "another department's staff cannot upload (and their CSRF token differs)"
    );
}

#[tokio::test]
async fn collection_duties_show_in_the_queue_and_rates_on_the_statistics_page() {
    for app in TestApp::all(false).await {
        let code = app.published_entry("常住人口户籍信息").await;
        let mut browser = Browser::new(&app);
        browser.sign_in("gaj-staff").await;
        let queue = Browser::text(&browser.request(Method::GET, "/", None).await);
        assert!(
            queue.contains("逾期或无数据的目录") && queue.contains(&code),
            "{}",
            app.backend
        );

        let token = app.login("gaj-staff").await;
        let id = domain::ids::IdCardNumber::parse("110105491231002")
            .unwrap()
            .to_string();
        let pushed = app
            .post(
                &format!("/api/v1/resources/{code}/records"),
                &token,
                serde_json::json!({"batch_key": "k1", "records": [{"id_number": id, "full_name": "张三"}]}),
            )
            .await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.json);
        let queue = Browser::text(&browser.request(Method::GET, "/", None).await);
        assert!(
            !queue.contains("逾期或无数据的目录"),
            "fresh data leaves the queue"
        );

        // A source whose pull timed out, and one that failed otherwise, are in the queue
        // with what happened.
        let staff = testkit::fixtures::person_ctx(&app.store, "gaj-staff").await;
        for (name, error) in [
            (
                "停摆的人口库",
                "采集超时：源库 120 秒没有应答（读取源库中断），本次归集已中止，数据保持不变",
            ),
            ("改了表的人口库", "源表结构已变化：缺少列“full_name”"),
        ] {
            let source = app
                .store
                .create_source(
                    &code,
                    &store::sources::NewSource {
                        name: name.into(),
                        kind: "postgres".into(),
                        url_sealed: "v1:not-sealed".into(),
                        url_display: "postgres://db.example/people".into(),
                        query: "people".into(),
                        mapping: "{}".into(),
                        mode: "full".into(),
                        change_column: None,
                        change_kind: None,
                        overlap: 300,
                        delete_column: None,
                        reconcile_every: 0,
                    },
                    &staff,
                )
                .await
                .unwrap();
            app.store
                .finish_source_run(
                    source.id,
                    chrono::Utc::now() + chrono::Duration::hours(1),
                    Some(error),
                )
                .await
                .unwrap();
        }
        let queue = Browser::text(&browser.request(Method::GET, "/", None).await);
        let failing = queue
            .split("id=\"failing-sources\"")
            .nth(1)
            .expect("the failing sources are listed");
        assert!(
            failing.contains("停摆的人口库")
                && failing.contains(">采集超时<")
                && failing.contains(">采集失败<"),
            "{failing}"
        );

        let stats = Browser::text(&browser.request(Method::GET, "/stats", None).await);
        assert!(
            stats.contains("政务数据归集率") && stats.contains("测试部门gaj"),
            "{stats}"
        );
        assert!(
            stats.contains("100.0%") && stats.contains("达标"),
            "{stats}"
        );
        let page = Browser::text(
            &browser
                .request(Method::GET, &format!("/catalogue/{code}/upload"), None)
                .await,
        );
        assert!(
            page.contains("数据质量") && page.contains("push:json"),
            "{page}"
        );
    }
}

#[tokio::test]
async fn a_department_registers_and_runs_a_source_from_its_collection_page() {
    let Some(source_db) = testkit::mysql_database().await else {
        return;
    };
    use sqlx::Connection;
    let mut conn = sqlx::MySqlConnection::connect(&source_db.url)
        .await
        .unwrap();
    let id = domain::ids::IdCardNumber::parse("110105491231002")
        .unwrap()
        .to_string();
    for statement in [
        "CREATE TABLE hj (id_number VARCHAR(18) PRIMARY KEY, full_name VARCHAR(50))".to_string(),
        format!("INSERT INTO hj VALUES ('{id}', '张三')"),
    ] {
        sqlx::query(&statement).execute(&mut conn).await.unwrap();
    }
    for app in TestApp::all_with(false, common::allow_loopback_sources).await {
        let code = app.published_entry("常住人口户籍信息").await;
        let mut browser = Browser::new(&app);
        browser.sign_in("gaj-staff").await;
        let page_uri = format!("/catalogue/{code}/upload");
        let page = Browser::text(&browser.request(Method::GET, &page_uri, None).await);
        assert!(page.contains("登记数据源"), "{page}");
        let csrf = csrf_in(&page);
        let add = format!("/catalogue/{code}/sources");
        let refused = browser
            .request(
                Method::POST,
                &add,
                Some(&[
                    ("_csrf", &csrf),
                    ("name", "户籍库"),
                    ("url", "oracle://x"),
                    ("query", "hj"),
                    ("mode", "full"),
                ]),
            )
            .await;
        assert!(
            Browser::text(&refused).contains("postgres://"),
            "{}",
            Browser::text(&refused)
        );
        let saved = browser
            .request(
                Method::POST,
                &add,
                Some(&[
                    ("_csrf", &csrf),
                    ("name", "户籍库"),
                    ("url", &source_db.url),
                    ("query", "hj"),
                    ("mode", "full"),
                ]),
            )
            .await;
        let saved = Browser::text(&saved);
        assert!(saved.contains("已保存数据源"), "{saved}");
        let sources = app.store.sources(None, None).await.unwrap();
        let ran = browser
            .request(
                Method::POST,
                &format!("/sources/{}/run", sources[0].id),
                Some(&[("_csrf", &csrf)]),
            )
            .await;
        assert!(
            Browser::text(&ran).contains("抽取完成"),
            "{}",
            Browser::text(&ran)
        );
    }
}

#[tokio::test]
async fn a_consumer_applies_from_the_entry_page_and_the_provider_decides_in_its_queue() {
    for app in TestApp::all(false).await {
        let mut body = testkit::fixtures::body("常住人口信息");
        body.share.share_type = domain::catalogue::ShareType::Conditional;
        body.share.conditions = Some("仅用于社会救助审核".into());
        let code = app.publish(&body).await;

        let mut consumer = Browser::new(&app);
        consumer.sign_in("mzj-staff").await;
        let entry = Browser::text(
            &consumer
                .request(Method::GET, &format!("/catalogue/{code}"), None)
                .await,
        );
        assert!(entry.contains("申请共享"), "{entry}");
        let form = Browser::text(
            &consumer
                .request(Method::GET, &format!("/catalogue/{code}/apply"), None)
                .await,
        );
        assert!(
            form.contains("有条件共享") && form.contains("个人信息（默认脱敏）"),
            "{form}"
        );
        let csrf = csrf_in(&form);
        let valid_until =
            (chrono::Utc::now().date_naive() + chrono::Duration::days(90)).to_string();
        let fields = |purpose: &'static str| {
            vec![
                ("_csrf", csrf.clone()),
                ("items", "id_number".to_string()),
                ("items", "full_name".to_string()),
                ("purpose", purpose.to_string()),
                ("legal_basis", "《社会救助暂行办法》".to_string()),
                ("application", "低保审批系统".to_string()),
                ("valid_until", valid_until.clone()),
            ]
        };
        let pairs = fields("低保资格审核");
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let submitted = consumer
            .request(
                Method::POST,
                &format!("/catalogue/{code}/apply"),
                Some(&pairs),
            )
            .await;
        assert_eq!(
            submitted.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&submitted)
        );
        let list = Browser::text(&consumer.request(Method::GET, "/sharing", None).await);
        assert!(list.contains("待审核") && list.contains("剩余 "), "{list}");
        assert!(
            !list.contains("同意"),
            "the consumer cannot decide its own request"
        );
        // Without the CSRF token nothing is filed.
        let forged: Vec<(&str, &str)> = pairs
            .iter()
            .filter(|(k, _)| *k != "_csrf")
            .copied()
            .collect();
        let refused = consumer
            .request(
                Method::POST,
                &format!("/catalogue/{code}/apply"),
                Some(&forged),
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);

        let mut provider = Browser::new(&app);
        provider.sign_in("gaj-chief").await;
        let home = Browser::text(&provider.request(Method::GET, "/", None).await);
        assert!(
            home.contains("待办事项")
                && home.contains("部门受理审批")
                && home.contains("href=\"/sharing#request-"),
            "{home}"
        );
        let queue = Browser::text(&provider.request(Method::GET, "/sharing", None).await);
        let id = app
            .store
            .share_requests(store::sharing::RequestScope::All)
            .await
            .unwrap()[0]
            .id;
        let decided = provider
            .request(
                Method::POST,
                &format!("/sharing/{id}/decision"),
                Some(&[
                    ("_csrf", &csrf_in(&queue)),
                    ("items", "full_name"),
                    ("decision", "approve"),
                ]),
            )
            .await;
        assert_eq!(
            decided.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&decided)
        );
        let after = Browser::text(&provider.request(Method::GET, "/sharing", None).await);
        assert!(
            after.contains("已授权") && after.contains("撤销授权"),
            "{after}"
        );
        // A decided request shows the day it was decided, not only a deadline still ahead
        // (issue 13, UI quality: "closed requests show a future date").
        let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
        assert!(after.contains(&format!("{today} 办结，时限 ")), "{after}");
        assert!(!after.contains("已办结（"), "{after}");
        let request = app.store.share_request(id).await.unwrap();
        assert_eq!(request.granted_items, Some(vec!["full_name".to_string()]));

        let calendar = Browser::text(
            &provider
                .request(Method::GET, "/calendar?received=2026-02-13&n=10", None)
                .await,
        );
        assert!(calendar.contains("国办发明电〔2025〕7号"), "{calendar}");
        assert!(
            calendar.contains("<strong>2026-03-05</strong>"),
            "{calendar}"
        );
    }
}

#[tokio::test]
async fn needs_are_posted_assigned_and_answered_from_the_needs_page() {
    for app in TestApp::all(false).await {
        let mut consumer = Browser::new(&app);
        consumer.sign_in("mzj-staff").await;
        let page = Browser::text(&consumer.request(Method::GET, "/needs", None).await);
        assert!(page.contains("提出需求"), "{page}");
        let posted = consumer
            .request(
                Method::POST,
                "/needs",
                Some(&[
                    ("_csrf", &csrf_in(&page)),
                    ("title", "居民火化信息"),
                    ("description", "低保对象去世后及时停发救助金"),
                ]),
            )
            .await;
        assert_eq!(
            posted.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&posted)
        );
        let id = app.store.needs().await.unwrap()[0].id;

        let mut bureau = Browser::new(&app);
        bureau.sign_in("admin").await;
        let page = Browser::text(&bureau.request(Method::GET, "/needs", None).await);
        assert!(page.contains("待分派") && page.contains("分派"), "{page}");
        let gaj = app.gaj.id.to_string();
        let assigned = bureau
            .request(
                Method::POST,
                &format!("/needs/{id}/assign"),
                Some(&[("_csrf", &csrf_in(&page)), ("department_id", &gaj)]),
            )
            .await;
        assert_eq!(
            assigned.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&assigned)
        );

        let mut provider = Browser::new(&app);
        provider.sign_in("gaj-chief").await;
        let page = Browser::text(&provider.request(Method::GET, "/needs", None).await);
        assert!(page.contains("待响应") && page.contains("剩余 "), "{page}");
        let declined = provider
            .request(
                Method::POST,
                &format!("/needs/{id}/answer"),
                Some(&[
                    ("_csrf", &csrf_in(&page)),
                    ("outcome", "declined"),
                    ("reason", "本部门不掌握火化信息"),
                ]),
            )
            .await;
        assert_eq!(
            declined.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&declined)
        );
        let after = Browser::text(&consumer.request(Method::GET, "/needs", None).await);
        assert!(
            after.contains("不能提供") && after.contains("本部门不掌握火化信息"),
            "{after}"
        );
        assert!(
            Browser::text(&consumer.request(Method::GET, "/objections", None).await)
                .contains("暂无数据异议")
        );
    }
}

#[tokio::test]
async fn a_provider_accepts_and_answers_an_objection_on_the_objections_page() {
    for app in TestApp::all(false).await {
        let code = app.published_entry("常住人口信息").await;
        let (gaj_staff, mzj_staff) = (app.login("gaj-staff").await, app.login("mzj-staff").await);
        let id = "11010519491231002X";
        app.post(
            &format!("/api/v1/resources/{code}/records"),
            &gaj_staff,
            serde_json::json!({"batch_key": "k", "records": [{"id_number": id, "full_name": "张三"}]}),
        )
        .await;
        let valid_until =
            (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
        app.post(
            "/api/v1/share-requests",
            &mzj_staff,
            serde_json::json!({"resource": code, "purpose": "核验", "legal_basis": "依据",
                               "application": "低保审批系统", "valid_until": valid_until}),
        )
        .await;
        // The consumer raises it from the page, naming the item as it reads it.
        let mut consumer = Browser::new(&app);
        consumer.sign_in("mzj-staff").await;
        let page = Browser::text(&consumer.request(Method::GET, "/objections", None).await);
        assert!(
            page.contains("提出异议") && page.contains("常住人口信息"),
            "{page}"
        );
        let unknown_key = consumer
            .request(
                Method::POST,
                "/objections",
                Some(&[
                    ("_csrf", &csrf_in(&page)),
                    ("resource", &code),
                    ("key", "110105194912310011"),
                    ("items", "姓名"),
                    ("description", "姓名有误，应为张叁"),
                ]),
            )
            .await;
        assert!(
            Browser::text(&unknown_key).contains("没有该主键的记录"),
            "{}",
            Browser::text(&unknown_key)
        );
        let raised = consumer
            .request(
                Method::POST,
                "/objections",
                Some(&[
                    ("_csrf", &csrf_in(&page)),
                    ("resource", &code),
                    ("key", id),
                    ("items", "姓名"),
                    ("description", "姓名有误，应为张叁"),
                ]),
            )
            .await;
        assert_eq!(
            raised.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&raised)
        );
        let listed = app.get("/api/v1/objections", &mzj_staff).await;
        let objection = listed.json["items"][0]["id"].as_i64().unwrap();
        assert_eq!(
            listed.json["items"][0]["items"],
            serde_json::json!(["full_name"])
        );

        let mut provider = Browser::new(&app);
        provider.sign_in("gaj-staff").await;
        let page = Browser::text(&provider.request(Method::GET, "/objections", None).await);
        assert!(page.contains("姓名有误") && page.contains("受理"), "{page}");
        let uri = format!("/objections/{objection}/answer");
        let accepted = provider
            .request(
                Method::POST,
                &uri,
                Some(&[
                    ("_csrf", &csrf_in(&page)),
                    ("step", "accept"),
                    ("answer", ""),
                ]),
            )
            .await;
        assert_eq!(
            accepted.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&accepted)
        );
        let page = Browser::text(&provider.request(Method::GET, "/objections", None).await);
        assert!(
            page.contains("异议中") && page.contains("核实无误"),
            "{page}"
        );
        let confirmed = provider
            .request(
                Method::POST,
                &uri,
                Some(&[
                    ("_csrf", &csrf_in(&page)),
                    ("step", "confirm"),
                    ("answer", "经核对户籍档案，原数据无误"),
                ]),
            )
            .await;
        assert_eq!(
            confirmed.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&confirmed)
        );
        let status = app.store.objection(objection).await.unwrap().status;
        assert_eq!(status, domain::sharing::ObjectionStatus::Confirmed);
    }
}

#[tokio::test]
async fn a_not_shared_basis_is_put_to_the_bureau_from_the_apply_page_and_decided_there() {
    for app in TestApp::all(false).await {
        let mut body = testkit::fixtures::body("常住人口信息");
        body.share.share_type = domain::catalogue::ShareType::NotShared;
        body.share.legal_basis = Some("《居民身份证法》第六条".into());
        let code = app.publish(&body).await;

        let mut consumer = Browser::new(&app);
        consumer.sign_in("mzj-staff").await;
        let page = Browser::text(
            &consumer
                .request(Method::GET, &format!("/catalogue/{code}/apply"), None)
                .await,
        );
        assert!(
            page.contains("申请复核不予共享依据") && page.contains("《居民身份证法》第六条"),
            "the listed basis is shown: {page}"
        );
        let asked = consumer
            .request(
                Method::POST,
                &format!("/catalogue/{code}/review"),
                Some(&[
                    ("_csrf", &csrf_in(&page)),
                    (
                        "reason",
                        "低保审核须核对户籍，依据《社会救助暂行办法》第十一条",
                    ),
                ]),
            )
            .await;
        assert_eq!(
            asked.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&asked)
        );

        let mut bureau = Browser::new(&app);
        bureau.sign_in("admin").await;
        let page = Browser::text(&bureau.request(Method::GET, "/sharing", None).await);
        assert!(
            page.contains("不予共享依据复核")
                && page.contains("整个目录")
                && page.contains("待复核"),
            "{page}"
        );
        let id = app
            .get("/api/v1/basis-reviews", &app.login("admin").await)
            .await
            .json["items"][0]["id"]
            .as_i64()
            .unwrap();
        let decided = bureau
            .request(
                Method::POST,
                &format!("/basis-reviews/{id}/decision"),
                Some(&[
                    ("_csrf", &csrf_in(&page)),
                    ("decision", "uphold"),
                    ("answer", "涉及公民身份信息，维持不予共享"),
                ]),
            )
            .await;
        assert_eq!(
            decided.status,
            StatusCode::SEE_OTHER,
            "{}",
            Browser::text(&decided)
        );
        let page = Browser::text(&consumer.request(Method::GET, "/sharing", None).await);
        assert!(
            page.contains("维持不予共享") && page.contains("涉及公民身份信息"),
            "{page}"
        );
    }
}
