//! The trust review's findings (安全可控), each as the attack that worked and the refusal
//! it now meets, over the real router on every backend.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::people::{loaded_entry, mzj_application, people, request, A, B, C};
use common::{error_of, TestApp, PASSWORD};
use domain::catalogue::ShareType;
use serde_json::{json, Value};

/// A share request of 民政局 for `code`, approved by 公安局's chief with `decision` when the
/// entry is conditional; returns the request as answered.
async fn granted(app: &TestApp, code: &str, mut ask: Value, decision: Value) -> Value {
    let mzj = app.login("mzj-staff").await;
    ask["resource"] = json!(code);
    let filed = app.post("/api/v1/share-requests", &mzj, ask).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.json);
    if filed.json["status"] == "approved" {
        return filed.json;
    }
    let chief = app.login("gaj-chief").await;
    let decided = app
        .post(
            &format!("/api/v1/share-requests/{}/decision", filed.json["id"]),
            &chief,
            decision,
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.json);
    decided.json
}

/// Finding 1: asking for a personal item in clear is never unconditional.
#[tokio::test]
async fn personal_data_in_clear_always_waits_for_the_providers_chief() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Unconditional).await;
        let mzj = app.login("mzj-staff").await;
        let mut ask = request(&code, &["id_number", "full_name"]);
        ask["clear_items"] = json!(["id_number"]);
        let filed = app.post("/api/v1/share-requests", &mzj, ask).await;
        assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.json);
        assert_eq!(
            filed.json["status"], "pending",
            "{}: clear personal data is the provider's decision",
            app.backend
        );
        // Even a staff member the chief delegated decisions to may not grant it.
        let chief = app.login("gaj-chief").await;
        let delegated = app
            .call(
                Method::PUT,
                "/api/v1/delegates/gaj-staff",
                Some(&chief),
                Some(json!({"allowed": true})),
            )
            .await;
        assert_eq!(
            delegated.status,
            StatusCode::NO_CONTENT,
            "{}",
            delegated.json
        );
        let staff = app.login("gaj-staff").await;
        let decision = format!("/api/v1/share-requests/{}/decision", filed.json["id"]);
        let approve = json!({"decision": "approve", "clear_items": ["id_number"]});
        let refused = app.post(&decision, &staff, approve.clone()).await;
        assert!(
            error_of(&refused, StatusCode::FORBIDDEN)["message"]
                .as_str()
                .unwrap()
                .contains("首席代表"),
            "{}",
            refused.json
        );
        let approved = app.post(&decision, &chief, approve).await;
        assert_eq!(approved.json["status"], "approved", "{}", approved.json);
        // Without clear items the same entry is still granted at once.
        let plain = app
            .post(
                "/api/v1/share-requests",
                &mzj,
                request(&code, &["id_number"]),
            )
            .await;
        assert_eq!(plain.json["status"], "approved", "{}", plain.json);
    }
}

/// Finding 2: a masked item cannot be guessed many values at a time.
#[tokio::test]
async fn a_masked_item_is_looked_up_one_value_per_call_and_verification_has_its_own_quota() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let token = mzj_application(&app, "低保审批系统").await;
        granted(
            &app,
            &code,
            request(&code, &["id_number", "full_name", "region"]),
            json!({"decision": "approve", "verify_quota": 2}),
        )
        .await;
        let data = format!("/api/v1/data/{code}/records");
        let one = app.get(&format!("{data}?id_number={A}"), &token).await;
        assert_eq!(one.status, StatusCode::OK, "{}", one.json);
        assert_eq!(one.json["items"][0]["id_number"], "110105********002X");
        let many = app
            .get(
                &format!("{data}?id_number={A}&id_number={B}&id_number={C}"),
                &token,
            )
            .await;
        let error = error_of(&many, StatusCode::BAD_REQUEST);
        assert_eq!(error["details"][0]["field"], "id_number", "{}", many.json);
        // An item granted in clear may still be filtered on several values.
        let regions = app
            .get(&format!("{data}?region=341002&region=341003"), &token)
            .await;
        assert_eq!(regions.json["items"].as_array().map(Vec::len), Some(3));
        // Verification: its own small quota, then 429.
        let verify = format!("/api/v1/data/{code}/verify");
        let check = json!({"key": {"id_number": A}, "values": {"full_name": "张三"}});
        for _ in 0..2 {
            let answer = app.post(&verify, &token, check.clone()).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
        }
        let over = app.post(&verify, &token, check).await;
        error_of(&over, StatusCode::TOO_MANY_REQUESTS);
        assert!(over.headers.contains_key(header::RETRY_AFTER));
    }
}

/// Finding 3: an objection says nothing about records the objector could not read.
#[tokio::test]
async fn an_objection_without_a_grant_reveals_nothing_about_the_record() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let mzj = app.login("mzj-staff").await;
        let objection = |key: &str| json!({"resource": code, "key": [key], "items": ["full_name"], "description": "姓名有误，请核实"});
        let existing = app.post("/api/v1/objections", &mzj, objection(A)).await;
        let missing = app
            .post("/api/v1/objections", &mzj, objection("110105194912310038"))
            .await;
        assert_eq!(existing.status, StatusCode::FORBIDDEN, "{}", existing.json);
        assert_eq!(missing.status, existing.status, "{}", missing.json);
        assert_eq!(missing.json, existing.json, "the same answer either way");
    }
}

/// Finding 4: a source connects only where the bureau allows, never to the platform's
/// own database or a local socket, and its errors do not map the network.
#[tokio::test]
async fn sources_may_not_reach_loopback_sockets_or_the_platforms_database() {
    for app in TestApp::all(false).await {
        let code = app.publish(&people(ShareType::Unconditional)).await;
        let staff = app.login("gaj-staff").await;
        let sources = format!("/api/v1/resources/{code}/sources");
        for url in [
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://postgres@localhost/postgres",
            "postgres://postgres@[::1]:5432/postgres",
            "postgres:///postgres?host=/var/run/postgresql",
            "mysql://root@127.0.0.1:3306/test",
            "postgres://postgres@0.0.0.0/postgres",
            "postgres://postgres@169.254.169.254/postgres",
        ] {
            let answer = app
                .post(
                    &sources,
                    &staff,
                    json!({"name": "探测", "url": url,
                           "query": "SELECT rolname AS full_name, rolname AS id_number FROM pg_roles"}),
                )
                .await;
            let error = error_of(&answer, StatusCode::BAD_REQUEST);
            assert_eq!(
                error["code"], "source_not_allowed",
                "{url}: {}",
                answer.json
            );
            let message = error["message"].as_str().unwrap();
            assert!(message.starts_with("数据源地址不可用"), "{message}");
            assert!(
                !message.contains("127.0.0.1") && !message.contains("rolname"),
                "{message}"
            );
        }
        assert_eq!(
            app.get(&sources, &staff).await.json,
            json!([]),
            "{}: nothing was saved",
            app.backend
        );
    }
}

/// Finding 5: a tiny workbook that claims a huge sheet is refused, and the server lives.
#[tokio::test]
async fn a_workbook_claiming_a_huge_sheet_is_refused_without_harm() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("目录").unwrap();
    sheet.write_string(0, 0, "信息资源名称").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let bomb = workbook.save_to_buffer().unwrap();
    assert!(bomb.len() < 10_000, "a small file: {} bytes", bomb.len());
    for app in TestApp::all(false).await {
        let staff = app.login("gaj-staff").await;
        for uri in ["/api/v1/catalogue/import.xlsx"] {
            let request = Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {staff}"))
                .header(
                    header::CONTENT_TYPE,
                    datahall_server::catalogue::transfer::XLSX_TYPE,
                )
                .body(Body::from(bomb.clone()))
                .unwrap();
            let answer = app.send(request).await;
            let error = error_of(&answer, StatusCode::BAD_REQUEST);
            assert!(
                error["message"].as_str().unwrap().contains("工作表"),
                "{}",
                answer.json
            );
        }
        let health = app.call(Method::GET, "/healthz", None, None).await;
        assert_eq!(health.status, StatusCode::OK);
    }
}

fn login_from(ip: [u8; 4], username: &str, password: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"username": username, "password": password}).to_string(),
        ))
        .unwrap();
    let address = std::net::SocketAddr::from((ip, 40000));
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(address));
    request
}

/// Finding 6: wrong passwords from one address do not lock the account for everyone, and
/// one address cannot try names without end.
#[tokio::test]
async fn guessing_from_one_address_locks_that_address_not_the_account() {
    for app in TestApp::all(false).await {
        let attacker = [203, 0, 113, 7];
        for _ in 0..8 {
            let answer = app
                .send(login_from(attacker, "admin", "wrong-password!"))
                .await;
            assert!(
                [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&answer.status),
                "{}",
                answer.json
            );
        }
        let locked = app.send(login_from(attacker, "admin", PASSWORD)).await;
        error_of(&locked, StatusCode::TOO_MANY_REQUESTS);
        assert!(locked.headers.contains_key(header::RETRY_AFTER));
        let office = app.send(login_from([10, 1, 2, 3], "admin", PASSWORD)).await;
        assert_eq!(
            office.status,
            StatusCode::OK,
            "{}: the bureau still signs in from its office",
            app.backend
        );
        // Random names from one address are cut off too, whether or not they exist.
        let sprayer = [198, 51, 100, 9];
        let mut limited = 0;
        for n in 0..40 {
            let answer = app
                .send(login_from(sprayer, &format!("user{n}"), "wrong-password!"))
                .await;
            limited += usize::from(answer.status == StatusCode::TOO_MANY_REQUESTS);
        }
        assert!(limited >= 10, "{}: {limited} of 40 throttled", app.backend);
    }
}

/// Finding 6: a flood of refused requests does not become a flood of audit commits, and
/// yet every refusal is counted.
#[tokio::test]
async fn a_flood_of_refusals_is_audited_in_summary() {
    for app in TestApp::all(false).await {
        let staff = app.login("gaj-staff").await;
        let before = audit_rows(&app).await;
        for _ in 0..100 {
            let answer = app.get("/api/v1/audit", &staff).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN);
        }
        app.store.flush_denials().await.unwrap();
        let rows = audit_rows(&app).await - before;
        assert!(
            rows <= 5,
            "{}: {rows} audit rows for 100 refusals",
            app.backend
        );
        let auditor = app.login("auditor").await;
        let listed = app
            .get("/api/v1/audit?outcome=denied&limit=50", &auditor)
            .await;
        let counted: i64 = listed.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["actor"] == "gaj-staff")
            .map(|r| r["occurrences"].as_i64().unwrap_or(1))
            .sum();
        assert_eq!(counted, 100, "{}: {}", app.backend, listed.json);
    }
}

async fn audit_rows(app: &TestApp) -> i64 {
    store::on_pool!(app.store, pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log").fetch_one(pool).await.unwrap()
    })
}

/// Finding 7: a password in a source URL and a key in a refused path stay out of the logs.
#[tokio::test]
async fn secrets_and_personal_values_stay_out_of_the_audit_log() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let staff = app.login("gaj-staff").await;
        let answer = app
            .post(
                &format!("/api/v1/resources/{code}/sources"),
                &staff,
                json!({"name": "户籍库", "url": "postgres://db.example/people?user=u&password=s3cr3t-word", "query": "people"}),
            )
            .await;
        assert!(
            !answer.json.to_string().contains("s3cr3t-word"),
            "{}",
            answer.json
        );
        // An application without a grant asks for a citizen's record: refused.
        let token = mzj_application(&app, "低保审批系统").await;
        let refused = app
            .get(&format!("/api/v1/data/{code}/records/{A}"), &token)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.json);
        app.store.flush_denials().await.unwrap();
        let log: Vec<String> = store::on_pool!(app.store, pool => {
            sqlx::query_scalar("SELECT COALESCE(target, '') || ' ' || COALESCE(detail, '') || ' ' || COALESCE(after_state, '') FROM audit_log")
                .fetch_all(pool).await.unwrap()
        });
        let all = log.join("\n");
        assert!(!all.contains("s3cr3t-word"), "{}: {all}", app.backend);
        assert!(
            !all.contains(A),
            "{}: the ID number is in the audit log",
            app.backend
        );
        assert!(
            all.contains("/api/v1/data/{prefix}/{seq}/records/{key}"),
            "{}: the refusal is logged by its route: {all}",
            app.backend
        );
    }
}

/// Finding 8: a grant follows the entry's current rules.
#[tokio::test]
async fn a_grant_masks_what_a_later_version_marks_personal_and_drops_what_it_withholds() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let token = mzj_application(&app, "低保审批系统").await;
        granted(
            &app,
            &code,
            request(&code, &["id_number", "full_name", "region"]),
            json!({"decision": "approve"}),
        )
        .await;
        let record = format!("/api/v1/data/{code}/records/{A}");
        assert_eq!(app.get(&record, &token).await.json["region"], "341002");
        // A new version: the district becomes personal, the name not shared.
        let mut revised = people(ShareType::Conditional);
        revised.items[2].personal = true;
        revised.items[1].share_type = Some(ShareType::NotShared);
        let (staff, chief, admin) = (
            app.login("gaj-staff").await,
            app.login("gaj-chief").await,
            app.login("admin").await,
        );
        let put = app
            .call(
                Method::PUT,
                &format!("/api/v1/resources/{code}"),
                Some(&staff),
                Some(serde_json::to_value(&revised).unwrap()),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.json);
        for (token, action) in [(&staff, "submit"), (&chief, "sign"), (&admin, "publish")] {
            let step = app
                .post(
                    &format!("/api/v1/resources/{code}/workflow"),
                    token,
                    json!({"action": action}),
                )
                .await;
            assert_eq!(step.status, StatusCode::OK, "{action}: {}", step.json);
        }
        // Past the read cache's lifetime, the data API follows the new version.
        tokio::time::sleep(store::CACHE_TTL).await;
        let now = app.get(&record, &token).await;
        assert_eq!(now.status, StatusCode::OK, "{}", now.json);
        assert_eq!(now.json["region"], "3****2", "{}", now.json);
        assert!(now.json.get("full_name").is_none(), "{}", now.json);
    }
}

/// Finding 9: separation of duties (三员分立).
#[tokio::test]
async fn the_bureau_cannot_act_as_an_application_or_as_the_auditor() {
    for app in TestApp::all(false).await {
        let admin = app.login("admin").await;
        let token = app
            .post(
                "/api/v1/tokens",
                &admin,
                json!({"application": "低保审批系统", "department_id": app.mzj.id}),
            )
            .await;
        error_of(&token, StatusCode::FORBIDDEN);
        let reset = app
            .call(
                Method::PUT,
                "/api/v1/users/auditor/password",
                Some(&admin),
                Some(json!({"password": "a-new-long-password"})),
            )
            .await;
        error_of(&reset, StatusCode::FORBIDDEN);
        // Nor any department's chief's: setting it would let the bureau sign in as them.
        let chief = app
            .call(
                Method::PUT,
                "/api/v1/users/gaj-chief/password",
                Some(&admin),
                Some(json!({"password": "bureau-owns-you-1"})),
            )
            .await;
        error_of(&chief, StatusCode::FORBIDDEN);
        // A person changes their own, knowing the current one.
        let own = app.login("gaj-chief").await;
        let guessed = app
            .call(
                Method::PUT,
                "/api/v1/users/gaj-chief/password",
                Some(&own),
                Some(json!({"password": "a-new-long-password", "current_password": "wrong"})),
            )
            .await;
        let error = error_of(&guessed, StatusCode::BAD_REQUEST);
        assert_eq!(error["details"][0]["field"], "current_password");
        let changed = app
            .call(
                Method::PUT,
                "/api/v1/users/gaj-chief/password",
                Some(&own),
                Some(json!({"password": "a-new-long-password", "current_password": PASSWORD})),
            )
            .await;
        assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.json);
        let promote = app
            .call(
                Method::PUT,
                "/api/v1/users/gaj-staff/role",
                Some(&admin),
                Some(json!({"role": "auditor", "department_id": null})),
            )
            .await;
        error_of(&promote, StatusCode::FORBIDDEN);
        // The auditor still signs in with their own password.
        app.login("auditor").await;
        // A person who leaves is deactivated: their live session ends at once.
        let staff = app.login("gaj-staff").await;
        assert_eq!(app.get("/api/v1/me", &staff).await.status, StatusCode::OK);
        let deactivated = app
            .call(
                Method::PUT,
                "/api/v1/users/gaj-staff/active",
                Some(&admin),
                Some(json!({"active": false})),
            )
            .await;
        assert_eq!(deactivated.status, StatusCode::OK, "{}", deactivated.json);
        assert_eq!(deactivated.json["active"], false);
        error_of(
            &app.get("/api/v1/me", &staff).await,
            StatusCode::UNAUTHORIZED,
        );
        let again = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "gaj-staff", "password": PASSWORD})),
            )
            .await;
        error_of(&again, StatusCode::UNAUTHORIZED);
    }
}

/// Security headers: no inline script or style, no framing, no sniffing, nothing cached
/// but static assets.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::new(testkit::sqlite().await, false).await;
    let page = app.call(Method::GET, "/login", None, None).await;
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    let html = String::from_utf8_lossy(&page.bytes).to_string();
    assert!(
        !html.contains("<script") && !html.contains("style=\""),
        "{html}"
    );
    let admin = app.login("admin").await;
    let api = app.get("/api/v1/me", &admin).await;
    assert_eq!(api.headers[header::CACHE_CONTROL], "no-store");
    let css = app.call(Method::GET, "/static/app.css", None, None).await;
    assert_ne!(css.headers[header::CACHE_CONTROL], "no-store");
    // Served behind HTTPS (secure cookies), the browser is told to stay on HTTPS.
    let https =
        TestApp::new_with(testkit::sqlite().await, false, |c| c.secure_cookies = true).await;
    let page = https.call(Method::GET, "/login", None, None).await;
    assert!(page.headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
}

/// A value that a spreadsheet would run as a formula is written to CSV as text.
#[tokio::test]
async fn quarantine_and_export_files_do_not_carry_formulas() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let staff = app.login("gaj-staff").await;
        let pushed = app
            .post(
                &format!("/api/v1/resources/{code}/records"),
                &staff,
                json!({"batch_key": "formula", "records": [
                    {"id_number": A, "full_name": "张三", "region": "=HYPERLINK(\"http://evil\",\"x\")", "religion": "无"},
                ]}),
            )
            .await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.json);
        let batch = pushed.json["batch"]["id"].clone();
        let csv = app
            .get(&format!("/api/v1/batches/{batch}/quarantine.csv"), &staff)
            .await;
        let text = String::from_utf8_lossy(&csv.bytes).to_string();
        assert!(text.contains("'=HYPERLINK"), "{}: {text}", app.backend);
        assert!(
            !text.contains(",=HYPERLINK") && !text.contains("\"=HYPERLINK"),
            "{text}"
        );
    }
}

/// Finding 11: the document describes the JSON as it is answered.
#[tokio::test]
async fn the_api_document_names_enumerations_by_their_codes_and_documents_refusals() {
    let app = TestApp::new(testkit::sqlite().await, false).await;
    let spec = app
        .call(Method::GET, "/api/openapi.json", None, None)
        .await
        .json;
    let schemas = &spec["components"]["schemas"];
    assert_eq!(
        schemas["Role"]["enum"],
        json!(["admin", "chief", "staff", "auditor"])
    );
    assert_eq!(schemas["RequestStatus"]["enum"][0], "pending");
    assert_eq!(
        schemas["DepartmentKind"]["enum"],
        json!(["government", "social"])
    );
    // What the JSON carries is in the document's enumeration.
    let admin = app.login("admin").await;
    let me = app.get("/api/v1/users", &admin).await;
    let role = me.json["items"][0]["role"].clone();
    assert!(
        schemas["Role"]["enum"].as_array().unwrap().contains(&role),
        "{role}"
    );
    let mut secured = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("security").is_some() {
                secured += 1;
                assert!(
                    operation["responses"].get("401").is_some(),
                    "{method} {path} does not document 401"
                );
            }
        }
    }
    assert!(secured > 60, "{secured} secured operations");
}

/// Build 6 (个人信息查询记录): every record a data call returns leaves a keyed hash of the
/// person's ID number; the bureau and the auditor ask by ID number and get who read it,
/// when, what and for which purpose; nobody else may ask, and no number is stored.
#[tokio::test]
async fn a_person_learns_which_departments_read_their_records() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let token = mzj_application(&app, "低保审批系统").await;
        granted(
            &app,
            &code,
            request(&code, &["id_number", "full_name", "region"]),
            json!({"decision": "approve"}),
        )
        .await;
        let data = format!("/api/v1/data/{code}");
        // A read by key, a filtered list (A and C live in 341002), an export of all three.
        for path in [
            format!("{data}/records/{A}"),
            format!("{data}/records?region=341002"),
            format!("{data}/export?format=csv"),
        ] {
            let answer = app.get(&path, &token).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.json);
        }
        let ask = |username: &'static str, id_number: &'static str| {
            let app = &app;
            async move {
                let session = app.login(username).await;
                app.post(
                    "/api/v1/audit/personal",
                    &session,
                    json!({"id_number": id_number, "reason": "市民本人依申请查询，工单 0153"}),
                )
                .await
            }
        };
        let report = ask("admin", A).await;
        assert_eq!(report.status, StatusCode::OK, "{}", report.json);
        let calls = report.json["calls"].as_array().unwrap();
        assert_eq!(calls.len(), 3, "{}: {}", app.backend, report.json);
        for call in calls {
            assert_eq!(call["department_name"], "测试部门mzj", "{call}");
            assert_eq!(call["application"], "低保审批系统");
            assert_eq!(call["resource_code"], code.as_str());
            assert_eq!(call["purpose"], "低保资格审核");
            assert!(
                call["items"].as_str().unwrap().contains("full_name"),
                "{call}"
            );
        }
        // B lives in 341003: only the export read B's record.
        let b = ask("auditor", B).await;
        assert_eq!(b.status, StatusCode::OK, "{}", b.json);
        let endpoints: Vec<&str> = b.json["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["endpoint"].as_str().unwrap())
            .collect();
        assert_eq!(endpoints, ["export"], "{}: {}", app.backend, b.json);
        let nobody = ask("admin", "110105194912310038").await;
        assert_eq!(nobody.json["calls"], json!([]), "{}", nobody.json);

        // Nobody else may ask; a malformed number is named as such.
        for username in ["gaj-chief", "mzj-staff"] {
            error_of(&ask(username, A).await, StatusCode::FORBIDDEN);
        }
        let refused = app
            .post("/api/v1/audit/personal", &token, json!({"id_number": A}))
            .await;
        error_of(&refused, StatusCode::FORBIDDEN);
        // A refused caller learns nothing from the body, and no number is echoed.
        let staff = app.login("mzj-staff").await;
        let typed = app
            .post(
                "/api/v1/audit/personal",
                &staff,
                json!({"id_number": 110105194912310038i64}),
            )
            .await;
        error_of(&typed, StatusCode::FORBIDDEN);
        let unexplained = app
            .post(
                "/api/v1/audit/personal",
                &app.login("admin").await,
                json!({"id_number": A, "reason": ""}),
            )
            .await;
        let error = error_of(&unexplained, StatusCode::BAD_REQUEST);
        assert_eq!(
            error["details"][0]["field"], "reason",
            "{}",
            unexplained.json
        );
        let bad = ask("admin", "11010519491231002").await;
        let error = error_of(&bad, StatusCode::BAD_REQUEST);
        assert_eq!(error["details"][0]["field"], "id_number", "{}", bad.json);

        // No ID number is stored: not with the subjects, not in the audit of the lookups.
        let stored: Vec<String> = store::on_pool!(app.store, pool => {
            sqlx::query_scalar("SELECT subject FROM access_subjects").fetch_all(pool).await.unwrap()
        });
        assert!(stored.len() >= 5, "{}: {stored:?}", app.backend);
        assert!(stored
            .iter()
            .all(|s| s.len() == 64 && !s.contains(A) && !s.contains(B)));
        let log: Vec<String> = store::on_pool!(app.store, pool => {
            sqlx::query_scalar("SELECT action || ' ' || target || ' ' || COALESCE(detail, '') FROM audit_log WHERE action = 'personal_access.query'")
                .fetch_all(pool).await.unwrap()
        });
        assert_eq!(
            log.len(),
            3,
            "{}: every lookup is audited: {log:?}",
            app.backend
        );
        assert!(
            log.iter().all(|l| !l.contains(A) && !l.contains(B)),
            "{log:?}"
        );
        // …with its reason and whom it was about, as the subject's keyed hash.
        let a_subject = app.store.subject_hash(A).unwrap();
        assert!(
            log.iter()
                .any(|l| l.contains(&a_subject) && l.contains("工单 0153")),
            "{log:?}"
        );
        // At most 100 lookups a day each: then 429 until Beijing midnight.
        let admin = app.login("admin").await;
        let mut answered = 2; // A and the nobody above
        loop {
            let next = app
                .post(
                    "/api/v1/audit/personal",
                    &admin,
                    json!({"id_number": C, "reason": "批量核查测试"}),
                )
                .await;
            if next.status == StatusCode::TOO_MANY_REQUESTS {
                assert!(next.headers.contains_key(header::RETRY_AFTER));
                break;
            }
            assert_eq!(next.status, StatusCode::OK, "{}", next.json);
            answered += 1;
            assert!(answered <= 100, "{}: no daily limit", app.backend);
        }
        assert_eq!(answered, 100, "{}", app.backend);
    }
}
