//! The API through the real router, on SQLite and (when configured) PostgreSQL.

mod common;

use axum::http::{Method, StatusCode};
use common::{error_of, TestApp, PASSWORD};
use serde_json::json;
use testkit::fixtures;

#[tokio::test]
async fn health_and_openapi_cover_every_endpoint() {
    let app = TestApp::new(testkit::sqlite().await, false).await;
    let health = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    let spec = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(spec.json["openapi"].as_str().unwrap().starts_with("3.1"));
    let endpoints = [
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/me"),
        ("get", "/api/v1/departments"),
        ("post", "/api/v1/departments"),
        ("get", "/api/v1/departments/{id}"),
        ("get", "/api/v1/users"),
        ("post", "/api/v1/users"),
        ("put", "/api/v1/users/{username}/role"),
        ("put", "/api/v1/users/{username}/password"),
        ("put", "/api/v1/users/{username}/active"),
        ("get", "/api/v1/tokens"),
        ("post", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/{id}"),
        ("get", "/api/v1/resources"),
        ("post", "/api/v1/resources"),
        ("get", "/api/v1/resources/{code}"),
        ("get", "/api/v1/resources/{prefix}/{seq}"),
        ("put", "/api/v1/resources/{prefix}/{seq}"),
        ("get", "/api/v1/resources/{prefix}/{seq}/versions"),
        ("get", "/api/v1/resources/{prefix}/{seq}/diff"),
        ("post", "/api/v1/resources/{prefix}/{seq}/workflow"),
        ("post", "/api/v1/resources/{prefix}/{seq}/batches"),
        ("get", "/api/v1/batches/{id}"),
        ("post", "/api/v1/resources/{prefix}/{seq}/records"),
        ("get", "/api/v1/resources/{prefix}/{seq}/quality"),
        ("get", "/api/v1/batches/{id}/quarantine.csv"),
        ("post", "/api/v1/resources/{prefix}/{seq}/sources"),
        ("get", "/api/v1/resources/{prefix}/{seq}/sources"),
        ("post", "/api/v1/sources/{id}/run"),
        ("post", "/api/v1/sources/{id}/enabled"),
        ("get", "/api/v1/stats/aggregation"),
        ("get", "/api/v1/source-conflicts"),
        ("get", "/api/v1/catalogue/export"),
        ("post", "/api/v1/catalogue/import"),
        ("get", "/api/v1/catalogue/template.xlsx"),
        ("post", "/api/v1/catalogue/import.xlsx"),
        ("get", "/api/v1/audit"),
        ("get", "/api/v1/audit/verify"),
        ("post", "/api/v1/audit/personal"),
        ("get", "/api/v1/share-requests"),
        ("post", "/api/v1/share-requests"),
        ("get", "/api/v1/share-requests/{id}"),
        ("post", "/api/v1/share-requests/{id}/decision"),
        ("post", "/api/v1/share-requests/{id}/revoke"),
        ("post", "/api/v1/share-requests/{id}/renew"),
        ("put", "/api/v1/delegates/{username}"),
        ("get", "/api/v1/tasks"),
        ("post", "/api/v1/tasks/{id}/urge"),
        ("get", "/api/v1/notifications"),
        ("post", "/api/v1/notifications/read"),
        ("get", "/api/v1/accountability"),
        ("get", "/api/v1/calendar/years"),
        ("post", "/api/v1/calendar/years"),
        ("get", "/api/v1/calendar/days"),
        ("get", "/api/v1/calendar/deadline"),
        ("get", "/api/v1/data/{prefix}/{seq}/records"),
        ("get", "/api/v1/data/{prefix}/{seq}/records/{key}"),
        ("post", "/api/v1/data/{prefix}/{seq}/verify"),
        ("get", "/api/v1/data/{prefix}/{seq}/changes"),
        ("get", "/api/v1/basis-reviews"),
        ("post", "/api/v1/basis-reviews"),
        ("post", "/api/v1/basis-reviews/{id}/decision"),
        ("get", "/api/v1/data/{prefix}/{seq}/export"),
        ("get", "/api/v1/resources/{prefix}/{seq}/usage"),
        ("get", "/api/v1/objections"),
        ("post", "/api/v1/objections"),
        ("post", "/api/v1/objections/{id}/answer"),
        ("get", "/api/v1/needs"),
        ("post", "/api/v1/needs"),
        ("post", "/api/v1/needs/{id}/assign"),
        ("post", "/api/v1/needs/{id}/answer"),
        ("get", "/healthz"),
    ];
    let paths = spec.json["paths"].as_object().unwrap();
    for (method, path) in endpoints {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "OpenAPI lacks {method} {path}"
        );
        // And the router serves it: without credentials, a served API route answers 401, not 404/405.
        let uri = path
            .replace("{id}", "1")
            .replace("{username}", "admin")
            .replace("{code}", "101001-000001")
            .replace("{prefix}", "101001")
            .replace("{seq}", "000001");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app.call(method.clone(), &uri, None, Some(json!({}))).await;
        assert!(
            ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&response.status),
            "{method} {uri} → {}",
            response.status
        );
    }
    // Every reference resolves: a client generator (and schemathesis) skips what it cannot
    // find, so an unregistered schema is a part of the API nobody checks.
    fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    out.push(target);
                }
                map.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut targets = Vec::new();
    refs(&spec.json, &mut targets);
    let unresolved: Vec<&&str> = targets
        .iter()
        .filter(|t| spec.json.pointer(t.trim_start_matches('#')).is_none())
        .collect();
    assert!(targets.len() > 50, "{} references", targets.len());
    assert!(
        unresolved.is_empty(),
        "unresolved references: {unresolved:?}"
    );
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        endpoints.len(),
        "every documented endpoint is listed in this test"
    );
}

#[tokio::test]
async fn login_refuses_wrong_passwords_then_throttles() {
    for app in TestApp::all(false).await {
        let wrong = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "admin", "password": "nope"})),
            )
            .await;
        assert_eq!(
            error_of(&wrong, StatusCode::UNAUTHORIZED)["code"],
            "unauthorized"
        );
        for _ in 0..4 {
            app.call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "admin", "password": "nope"})),
            )
            .await;
        }
        let locked = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "admin", "password": PASSWORD})),
            )
            .await;
        error_of(&locked, StatusCode::TOO_MANY_REQUESTS);
        assert!(locked.headers.get("retry-after").is_some());
        // Another account is unaffected, and its token identifies it.
        let token = app.login("gaj-staff").await;
        let me = app.get("/api/v1/me", &token).await;
        assert_eq!(
            (me.json["name"].as_str(), me.json["role"].as_str()),
            (Some("gaj-staff"), Some("staff"))
        );
    }
}

#[tokio::test]
async fn demo_password_is_refused_outside_demo_mode() {
    for demo_mode in [false, true] {
        let app = TestApp::new(testkit::sqlite().await, demo_mode).await;
        let hash =
            datahall_server::auth::hash_password_blocking(domain::account::DEMO_PASSWORD).unwrap();
        app.store
            .set_password("admin", &hash, &store::AuditContext::system("test"))
            .await
            .unwrap();
        let response = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "admin", "password": "demo-password"})),
            )
            .await;
        let expected = if demo_mode {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(
            response.status, expected,
            "demo_mode={demo_mode}: {}",
            response.json
        );
    }
}

#[tokio::test]
async fn forged_and_missing_tokens_are_refused_and_audited() {
    for app in TestApp::all(false).await {
        let forged = app.get("/api/v1/resources", "dhapp_forged-token").await;
        error_of(&forged, StatusCode::UNAUTHORIZED);
        let none = app
            .call(Method::GET, "/api/v1/departments", None, None)
            .await;
        error_of(&none, StatusCode::UNAUTHORIZED);
        app.store.flush_denials().await.unwrap();
        let auditor = app.login("auditor").await;
        let denied = app.get("/api/v1/audit?outcome=denied", &auditor).await;
        assert_eq!(denied.status, StatusCode::OK);
        let targets: Vec<&str> = denied.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["target"].as_str().unwrap())
            .collect();
        assert!(
            targets.contains(&"/api/v1/resources") && targets.contains(&"/api/v1/departments"),
            "{}: {targets:?}",
            app.backend
        );
        assert!(
            denied.json["items"][1]["detail"]
                .as_str()
                .unwrap()
                .contains("无效"),
            "{}",
            denied.json
        );
    }
}

#[tokio::test]
async fn departments_validate_identifiers_and_roles() {
    for app in TestApp::all(false).await {
        let admin = app.login("admin").await;
        let bad = app.post("/api/v1/departments", &admin, json!({"name": "市税务局", "credit_code": "91110000600037341K", "region_code": "991000", "kind": "bank"})).await;
        let error = error_of(&bad, StatusCode::BAD_REQUEST);
        let fields: Vec<&str> = error["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["credit_code", "region_code", "kind"],
            "{}",
            app.backend
        );
        assert!(error["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("校验位"));

        let code = fixtures::credit_code(99).to_string();
        let ok = app.post("/api/v1/departments", &admin, json!({"name": "市税务局", "credit_code": code, "region_code": "341000", "kind": "government"})).await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.json);
        assert_eq!(ok.json["branch_no"], 3);
        let again = app.post("/api/v1/departments", &admin, json!({"name": "市税务局", "credit_code": code, "region_code": "341000", "kind": "government", "code": "swj2"})).await;
        error_of(&again, StatusCode::CONFLICT);

        let staff = app.login("gaj-staff").await;
        let forbidden = app.post("/api/v1/departments", &staff, json!({"name": "x", "credit_code": code, "region_code": "341000", "kind": "government"})).await;
        error_of(&forbidden, StatusCode::FORBIDDEN);
        let list = app.get("/api/v1/departments", &staff).await;
        assert_eq!(
            (list.json["total"].as_i64(), list.json["next"].is_null()),
            (Some(3), true)
        );
    }
}

#[tokio::test]
async fn malformed_unknown_and_oversized_bodies_get_precise_errors() {
    let app = TestApp::new(testkit::sqlite().await, false).await;
    let admin = app.login("admin").await;
    let request = |body: String| {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri("/api/v1/departments")
            .header("authorization", format!("Bearer {admin}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let malformed = app.send(request("{\"name\": ".into())).await;
    assert_eq!(
        error_of(&malformed, StatusCode::BAD_REQUEST)["code"],
        "malformed_json"
    );
    let unknown = app.send(request(json!({"name": "x", "credit_code": "x", "region_code": "x", "kind": "x", "colour": "red"}).to_string())).await;
    assert!(
        error_of(&unknown, StatusCode::UNPROCESSABLE_ENTITY)["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let huge = app
        .send(request(format!(
            "{{\"name\": \"{}\"}}",
            "x".repeat(3 * 1024 * 1024)
        )))
        .await;
    error_of(&huge, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        app.store.departments().await.unwrap().len(),
        2,
        "nothing was created"
    );
}

#[tokio::test]
async fn catalogue_workflow_through_the_api() {
    for app in TestApp::all(false).await {
        let staff = app.login("gaj-staff").await;
        let chief = app.login("gaj-chief").await;
        let admin = app.login("admin").await;
        let other = app.login("mzj-staff").await;

        let mut invalid = serde_json::to_value(fixtures::body("户籍人口信息")).unwrap();
        invalid["share"]["share_type"] = json!("not_shared");
        invalid["share"]["mode"] = json!(null);
        let refused = app.post("/api/v1/resources", &staff, invalid).await;
        assert_eq!(
            error_of(&refused, StatusCode::BAD_REQUEST)["details"][0]["field"],
            "share.legal_basis"
        );
        let mut bad_enum = serde_json::to_value(fixtures::body("户籍人口信息")).unwrap();
        bad_enum["update_cycle"] = json!("每两天");
        error_of(
            &app.post("/api/v1/resources", &staff, bad_enum).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        let admin_create = app
            .post(
                "/api/v1/resources",
                &admin,
                serde_json::to_value(fixtures::body("x信息")).unwrap(),
            )
            .await;
        error_of(&admin_create, StatusCode::FORBIDDEN);

        let code = app.published_entry("常住人口户籍信息").await;
        assert_eq!(code, "101001/000001", "{}", app.backend);
        let chief_publish = app
            .post(
                &format!("/api/v1/resources/{code}/workflow"),
                &chief,
                json!({"action": "retire"}),
            )
            .await;
        error_of(&chief_publish, StatusCode::FORBIDDEN);
        let wrong_state = app
            .post(
                &format!("/api/v1/resources/{code}/workflow"),
                &chief,
                json!({"action": "sign"}),
            )
            .await;
        error_of(&wrong_state, StatusCode::CONFLICT);

        // Another department sees the published entry but cannot change it.
        let seen = app.get(&format!("/api/v1/resources/{code}"), &other).await;
        assert_eq!(seen.json["status"], "published");
        assert_eq!(seen.json["provider"]["credit_code"], app.gaj.credit_code);
        let mut edit = seen.json["body"].clone();
        edit["abstract"] = json!("篡改");
        error_of(
            &app.call(
                Method::PUT,
                &format!("/api/v1/resources/{code}"),
                Some(&other),
                Some(edit.clone()),
            )
            .await,
            StatusCode::FORBIDDEN,
        );
        assert_eq!(
            app.get("/api/v1/resources/101001-000001", &other)
                .await
                .json["body"]["abstract"],
            "常住人口户籍信息的摘要"
        );

        // The owner edits: a new working version; the published one is kept and diffable.
        let edited = app
            .call(
                Method::PUT,
                &format!("/api/v1/resources/{code}"),
                Some(&staff),
                Some(edit),
            )
            .await;
        assert_eq!(
            (
                edited.json["status"].as_str(),
                edited.json["version"].as_i64()
            ),
            (Some("draft"), Some(2)),
            "{}",
            edited.json
        );
        let versions = app
            .get(&format!("/api/v1/resources/{code}/versions"), &other)
            .await;
        assert_eq!(versions.json["total"], 1);
        let diff = app
            .get(&format!("/api/v1/resources/{code}/diff?from=1"), &staff)
            .await;
        assert_eq!(diff.json[0]["field"], "abstract");
        // Others keep seeing the published version while the provider revises it.
        let consumer_view = app.get(&format!("/api/v1/resources/{code}"), &other).await;
        assert_eq!(
            (
                consumer_view.json["status"].as_str(),
                consumer_view.json["version"].as_i64()
            ),
            (Some("published"), Some(1))
        );
        assert_eq!(
            consumer_view.json["body"]["abstract"],
            "常住人口户籍信息的摘要"
        );
        // The revision's words are not searchable by others until it is published.
        assert_eq!(
            app.get("/api/v1/resources?q=%E7%AF%A1%E6%94%B9", &other)
                .await
                .json["total"],
            0
        );
        assert_eq!(
            app.get("/api/v1/resources?q=%E7%AF%A1%E6%94%B9", &staff)
                .await
                .json["total"],
            0
        );
        // Drafts never published are invisible to other departments, even by code.
        let draft = app
            .post(
                "/api/v1/resources",
                &staff,
                serde_json::to_value(fixtures::body("户籍迁移记录")).unwrap(),
            )
            .await;
        let draft_code = draft.json["code"].as_str().unwrap();
        error_of(
            &app.get(&format!("/api/v1/resources/{draft_code}"), &other)
                .await,
            StatusCode::NOT_FOUND,
        );
        assert_eq!(
            app.get("/api/v1/resources?q=%E8%BF%81%E7%A7%BB", &other)
                .await
                .json["total"],
            0
        );

        let search = app
            .get("/api/v1/resources?q=%E6%88%B7%E7%B1%8D&limit=5", &staff)
            .await;
        assert_eq!(search.json["total"], 2, "{}", search.json);
        assert_eq!(search.json["items"][0]["code"], code);
        let bad_code = app.get("/api/v1/resources/401001-000001", &staff).await;
        assert!(
            error_of(&bad_code, StatusCode::BAD_REQUEST)["details"][0]["message"]
                .as_str()
                .unwrap()
                .contains("类")
        );
        error_of(
            &app.get("/api/v1/resources/101001/000099", &staff).await,
            StatusCode::NOT_FOUND,
        );
        let bad_filter = app.get("/api/v1/resources?share_type=maybe", &staff).await;
        assert_eq!(
            error_of(&bad_filter, StatusCode::BAD_REQUEST)["details"][0]["field"],
            "share_type"
        );
    }
}

#[tokio::test]
async fn oversized_searches_and_unknown_references_are_refused() {
    let app = TestApp::new(testkit::sqlite().await, false).await;
    let admin = app.login("admin").await;
    let many = (0..9)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join("+");
    let refused = app
        .get(&format!("/api/v1/resources?q={many}"), &admin)
        .await;
    assert_eq!(
        error_of(&refused, StatusCode::BAD_REQUEST)["details"][0]["field"],
        "q"
    );
    let unknown = app
        .post("/api/v1/users", &admin, json!({"username": "x-staff", "display_name": "赵六", "role": "staff", "department_id": 999, "password": "long-enough-password"}))
        .await;
    assert_eq!(
        error_of(&unknown, StatusCode::BAD_REQUEST)["details"][0]["field"],
        "department_id"
    );
    // A username that cannot exist is refused like a wrong password, and never echoed.
    let long = "x".repeat(5000);
    let response = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": long, "password": "x"})),
        )
        .await;
    let message = error_of(&response, StatusCode::UNAUTHORIZED)["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!message.contains("xxxx"), "{message}");
}

#[tokio::test]
async fn application_tokens_are_scoped_and_revocable() {
    for app in TestApp::all(false).await {
        let code = app.published_entry("常住人口户籍信息").await;
        let gaj_chief = app.login("gaj-chief").await;
        let mzj_chief = app.login("mzj-chief").await;
        let cross = app
            .post(
                "/api/v1/tokens",
                &mzj_chief,
                json!({"application": "低保系统", "department_id": app.gaj.id}),
            )
            .await;
        error_of(&cross, StatusCode::FORBIDDEN);
        let created = app
            .post(
                "/api/v1/tokens",
                &mzj_chief,
                json!({"application": "低保审批系统"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
        let secret = created.json["token"].as_str().unwrap().to_string();
        assert!(secret.starts_with("dhapp_"));
        let listed = app.get("/api/v1/tokens", &mzj_chief).await;
        assert!(
            !listed
                .bytes
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "secrets are never listed"
        );

        // The application reads the catalogue but cannot touch another department's entry.
        assert_eq!(
            app.get(&format!("/api/v1/resources/{code}"), &secret)
                .await
                .status,
            StatusCode::OK
        );
        let body = serde_json::to_value(fixtures::body("改名")).unwrap();
        error_of(
            &app.call(
                Method::PUT,
                &format!("/api/v1/resources/{code}"),
                Some(&secret),
                Some(body),
            )
            .await,
            StatusCode::FORBIDDEN,
        );
        error_of(
            &app.get("/api/v1/audit", &secret).await,
            StatusCode::FORBIDDEN,
        );

        let own = app
            .post(
                "/api/v1/resources",
                &secret,
                serde_json::to_value(fixtures::body("应用编目")).unwrap(),
            )
            .await;
        error_of(&own, StatusCode::FORBIDDEN);
        let id = created.json["id"].as_i64().unwrap();
        error_of(
            &app.call(
                Method::DELETE,
                &format!("/api/v1/tokens/{id}"),
                Some(&gaj_chief),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
        );
        assert_eq!(
            app.call(
                Method::DELETE,
                &format!("/api/v1/tokens/{id}"),
                Some(&mzj_chief),
                None
            )
            .await
            .status,
            StatusCode::OK
        );
        error_of(
            &app.get(&format!("/api/v1/resources/{code}"), &secret).await,
            StatusCode::UNAUTHORIZED,
        );
    }
}

#[tokio::test]
async fn audit_is_for_auditors_and_admins_and_verifies() {
    for app in TestApp::all(false).await {
        app.published_entry("人口信息").await;
        let staff = app.login("gaj-staff").await;
        error_of(
            &app.get("/api/v1/audit", &staff).await,
            StatusCode::FORBIDDEN,
        );
        error_of(
            &app.get("/api/v1/audit/verify", &staff).await,
            StatusCode::FORBIDDEN,
        );
        let auditor = app.login("auditor").await;
        let verify = app.get("/api/v1/audit/verify", &auditor).await;
        assert_eq!(verify.json["intact"], true, "{}", verify.json);
        let page = app
            .get("/api/v1/audit?action=resource.publish", &auditor)
            .await;
        assert_eq!(page.json["total"], 1);
        let record = &page.json["items"][0];
        assert_eq!(
            (
                record["actor"].as_str(),
                record["role"].as_str(),
                record["outcome"].as_str()
            ),
            (Some("admin"), Some("admin"), Some("success"))
        );
        assert!(record["request_id"].as_str().unwrap().len() >= 32);
        // The auditor changes nothing.
        let body = serde_json::to_value(fixtures::body("审计员编目")).unwrap();
        error_of(
            &app.post("/api/v1/resources", &auditor, body).await,
            StatusCode::FORBIDDEN,
        );
        let paged = app.get("/api/v1/audit?limit=2", &auditor).await;
        let next = paged.json["next"].as_str().unwrap().to_string();
        let second = app
            .get(&format!("/api/v1/audit?limit=2&cursor={next}"), &auditor)
            .await;
        assert!(second.json["items"][0]["seq"].as_i64() < paged.json["items"][1]["seq"].as_i64());
    }
}

#[tokio::test]
async fn json_catalogue_round_trip() {
    for app in TestApp::all(false).await {
        app.published_entry("常住人口户籍信息").await;
        let admin = app.login("admin").await;
        let export = app.get("/api/v1/catalogue/export", &admin).await;
        assert_eq!(export.json["entries"].as_array().unwrap().len(), 1);
        let mzj_staff = app.login("mzj-staff").await;
        let refused = app
            .post("/api/v1/catalogue/import", &mzj_staff, export.json.clone())
            .await;
        assert!(
            error_of(&refused, StatusCode::BAD_REQUEST)["details"][0]["message"]
                .as_str()
                .unwrap()
                .contains("本部门")
        );
        let bureau = app
            .post("/api/v1/catalogue/import", &admin, export.json.clone())
            .await;
        error_of(&bureau, StatusCode::FORBIDDEN);
        let gaj_staff = app.login("gaj-staff").await;
        let imported = app
            .post("/api/v1/catalogue/import", &gaj_staff, export.json.clone())
            .await;
        assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.json);
        let code = imported.json["imported"][0].as_str().unwrap();
        assert_eq!(code, "101001/000002");
        let copy = app.get(&format!("/api/v1/resources/{code}"), &admin).await;
        assert_eq!(copy.json["body"], export.json["entries"][0]["body"]);
        assert_eq!(copy.json["status"], "draft");
    }
}
