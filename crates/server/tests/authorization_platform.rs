//! The authorisation matrix of the platform: every endpoint that `authorization.rs` leaves
//! out (session, departments, people, tokens, the catalogue and its workflow, collection,
//! sources, statistics, catalogue files, audit, health and the sub-routes of needs,
//! objections and the calendar) under every role and token kind, compared with the
//! expected table. Bodies are chosen so that a caller who is allowed fails validation
//! afterwards (400/404/409) or succeeds without side effects, which keeps the cells
//! independent; logging out comes last because it ends the sessions. Every 401/403 must be
//! in the audit log.

mod common;

use axum::http::{Method, StatusCode};
use common::{matrix, TestApp};
use serde_json::json;

#[tokio::test]
async fn every_platform_endpoint_under_every_role_and_token() {
    for app in TestApp::all(false).await {
        // gaj provides a published entry with one pushed batch and a saved source whose
        // sealed address cannot be opened, and has a draft that only gaj and the oversight
        // roles may see.
        let open = app.published_entry("常住人口信息").await;
        let gaj_staff = app.login("gaj-staff").await;
        let drafted = app
            .post(
                "/api/v1/resources",
                &gaj_staff,
                serde_json::to_value(testkit::fixtures::body("户籍迁移信息")).unwrap(),
            )
            .await;
        assert_eq!(drafted.status, StatusCode::CREATED, "{}", drafted.json);
        let draft = drafted.json["code"].as_str().unwrap().to_string();
        let pushed = app
            .post(
                &format!("/api/v1/resources/{open}/records"),
                &gaj_staff,
                json!({"batch_key": "k", "records": [{"id_number": "11010519491231002X", "full_name": "张三"}]}),
            )
            .await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.json);
        let batch = pushed.json["batch"]["id"].clone();
        let source = app
            .store
            .create_source(
                &open,
                &store::sources::NewSource {
                    name: "人口库".into(),
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
                &testkit::fixtures::person_ctx(&app.store, "gaj-staff").await,
            )
            .await
            .unwrap()
            .id;
        let tokens = matrix::tokens(&app).await;
        let quality = format!("/api/v1/resources/{open}/quality");
        let batches_before = app.get(&quality, &tokens["admin"]).await.json["batches"].clone();
        let dashed = open.replace('/', "-");
        let gaj = app.gaj.id;
        // A well-formed entry that fails validation: its name is empty.
        let mut nameless = testkit::fixtures::body("人口迁移信息");
        nameless.name = String::new();
        let nameless = serde_json::to_value(nameless).unwrap();

        use StatusCode as S;
        const OK: S = S::OK;
        const NO: S = S::FORBIDDEN;
        const ANON: S = S::UNAUTHORIZED;
        const BAD: S = S::BAD_REQUEST;
        const GONE: S = S::NO_CONTENT;
        const CONF: S = S::CONFLICT;
        const MISS: S = S::NOT_FOUND;
        // Columns: anonymous, forged, admin, auditor, gaj-chief, gaj-staff, mzj-chief,
        // mzj-staff, app:mzj, app:gaj.
        let table: Vec<matrix::Row> = vec![
            // Login ignores who calls: wrong credentials are 401 for everyone. Usernames are
            // lowercase, so this one is refused before the throttle counts it (ten wrong
            // passwords for a real name would lock it out after five: 429).
            (
                Method::POST,
                "/api/v1/auth/login".into(),
                Some(json!({"username": "ADMIN", "password": "wrong-password"})),
                [ANON, ANON, ANON, ANON, ANON, ANON, ANON, ANON, ANON, ANON],
            ),
            (
                Method::GET,
                "/api/v1/me".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            // Health and the API description are public; a forged token does not matter.
            (
                Method::GET,
                "/healthz".into(),
                None,
                [OK, OK, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            (
                Method::GET,
                "/api/openapi.json".into(),
                None,
                [OK, OK, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            (
                Method::GET,
                "/api/v1/departments".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, NO, NO],
            ),
            (
                Method::POST,
                "/api/v1/departments".into(),
                Some(json!({"name": "", "credit_code": "x", "region_code": "x", "kind": "x"})),
                [ANON, ANON, BAD, NO, NO, NO, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/departments/{gaj}"),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, NO, NO],
            ),
            // Chiefs see their own department's people; staff and applications none.
            (
                Method::GET,
                "/api/v1/users".into(),
                None,
                [ANON, ANON, OK, OK, OK, NO, OK, NO, NO, NO],
            ),
            (
                Method::POST,
                "/api/v1/users".into(),
                Some(
                    json!({"username": "new-user", "display_name": "x", "role": "emperor", "department_id": null, "password": "correct-horse-battery"}),
                ),
                [ANON, ANON, BAD, NO, NO, NO, NO, NO, NO, NO],
            ),
            (
                Method::PUT,
                "/api/v1/users/gaj-staff/role".into(),
                Some(json!({"role": "emperor", "department_id": null})),
                [ANON, ANON, BAD, NO, NO, NO, NO, NO, NO, NO],
            ),
            // A person sets their own password only (without the current one: 400); the
            // bureau nobody's (三员分立: it could then sign in as them).
            (
                Method::PUT,
                "/api/v1/users/gaj-staff/password".into(),
                Some(json!({"password": "short"})),
                [ANON, ANON, NO, NO, NO, BAD, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/tokens".into(),
                None,
                [ANON, ANON, OK, OK, OK, NO, OK, NO, NO, NO],
            ),
            // Only a chief issues tokens, for their own department (三员分立: not the bureau);
            // the blank application name fails there.
            (
                Method::POST,
                "/api/v1/tokens".into(),
                Some(json!({"application": " "})),
                [ANON, ANON, NO, NO, BAD, NO, BAD, NO, NO, NO],
            ),
            (
                Method::DELETE,
                "/api/v1/tokens/999999".into(),
                None,
                [ANON, ANON, MISS, NO, MISS, NO, MISS, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/resources".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            // Only departments' people author entries, each for their own department; the
            // nameless entry fails validation.
            (
                Method::POST,
                "/api/v1/resources".into(),
                Some(nameless.clone()),
                [ANON, ANON, NO, NO, BAD, BAD, BAD, BAD, NO, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/resources/{open}"),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            (
                Method::GET,
                format!("/api/v1/resources/{dashed}"),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            // A draft is its department's and the oversight roles'; others, and applications
            // (which see only the published catalogue, even their own department's), get 404.
            (
                Method::GET,
                format!("/api/v1/resources/{draft}"),
                None,
                [ANON, ANON, OK, OK, OK, OK, MISS, MISS, MISS, MISS],
            ),
            (
                Method::PUT,
                format!("/api/v1/resources/{open}"),
                Some(nameless.clone()),
                [ANON, ANON, NO, NO, BAD, BAD, NO, NO, NO, NO],
            ),
            // Applications are refused before the entry is looked up; other departments
            // cannot see the draft.
            (
                Method::PUT,
                format!("/api/v1/resources/{draft}"),
                Some(nameless),
                [ANON, ANON, NO, NO, BAD, BAD, MISS, MISS, NO, NO],
            ),
            // `create` is no workflow action: every person fails on it, applications are
            // refused first.
            (
                Method::POST,
                format!("/api/v1/resources/{open}/workflow"),
                Some(json!({"action": "create"})),
                [ANON, ANON, BAD, BAD, BAD, BAD, BAD, BAD, NO, NO],
            ),
            // A published entry is returned by nobody: the chief (who returns at signing) is
            // told the state forbids it, the bureau (which returns at review) that it may not.
            (
                Method::POST,
                format!("/api/v1/resources/{open}/workflow"),
                Some(json!({"action": "reject"})),
                [ANON, ANON, NO, NO, CONF, NO, NO, NO, NO, NO],
            ),
            // Only the provider's chief signs, and not a draft; other departments do not see
            // the draft at all.
            (
                Method::POST,
                format!("/api/v1/resources/{draft}/workflow"),
                Some(json!({"action": "sign"})),
                [ANON, ANON, NO, NO, CONF, NO, MISS, MISS, NO, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/resources/{open}/versions"),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            (
                Method::GET,
                format!("/api/v1/resources/{draft}/versions"),
                None,
                [ANON, ANON, OK, OK, OK, OK, MISS, MISS, MISS, MISS],
            ),
            (
                Method::GET,
                format!("/api/v1/resources/{open}/diff?from=1"),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            (
                Method::GET,
                "/api/v1/source-conflicts".into(),
                None,
                [ANON, ANON, OK, OK, NO, NO, NO, NO, NO, NO],
            ),
            // The provider's people and application may collect; an empty file has no data
            // rows, so no batch starts.
            (
                Method::POST,
                format!("/api/v1/resources/{open}/batches"),
                None,
                [ANON, ANON, NO, NO, BAD, BAD, NO, NO, NO, BAD],
            ),
            (
                Method::POST,
                format!("/api/v1/resources/{open}/records"),
                Some(json!({"batch_key": " ", "records": []})),
                [ANON, ANON, NO, NO, BAD, BAD, NO, NO, NO, BAD],
            ),
            // The collection is seen by the provider's people and oversight; an application
            // gets its batch's report in the answer to its push.
            (
                Method::GET,
                format!("/api/v1/batches/{batch}"),
                None,
                [ANON, ANON, OK, OK, OK, OK, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/batches/{batch}/quarantine.csv"),
                None,
                [ANON, ANON, OK, OK, OK, OK, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                quality.clone(),
                None,
                [ANON, ANON, OK, OK, OK, OK, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/resources/{open}/sources"),
                None,
                [ANON, ANON, OK, OK, OK, OK, NO, NO, NO, NO],
            ),
            // Sources are defined by the provider's people, not its application; the blank
            // name fails before any connection is tried.
            (
                Method::POST,
                format!("/api/v1/resources/{open}/sources"),
                Some(json!({"name": "", "url": "postgres://db.example/people", "query": "people"})),
                [ANON, ANON, NO, NO, BAD, BAD, NO, NO, NO, NO],
            ),
            // The sealed address cannot be opened: an allowed pull fails (400) and only counts
            // a failure on the source.
            (
                Method::POST,
                format!("/api/v1/sources/{source}/run"),
                None,
                [ANON, ANON, NO, NO, BAD, BAD, NO, NO, NO, NO],
            ),
            // Switching on a source that is on changes nothing.
            (
                Method::POST,
                format!("/api/v1/sources/{source}/enabled"),
                Some(json!({"enabled": true})),
                [ANON, ANON, NO, NO, OK, OK, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/stats/aggregation".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/catalogue/export".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            // Importers (chiefs, staff) fail on the unknown file format; the bureau reviews
            // entries, it does not author them.
            (
                Method::POST,
                "/api/v1/catalogue/import".into(),
                Some(
                    json!({"format": "datahall-catalogue/0", "exported_at": "2026-01-01T00:00:00Z", "entries": []}),
                ),
                [ANON, ANON, NO, NO, BAD, BAD, BAD, BAD, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/catalogue/template.xlsx".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            // A template imports into the importer's own department, so the bureau may not;
            // an empty body is no XLSX file.
            (
                Method::POST,
                "/api/v1/catalogue/import.xlsx".into(),
                None,
                [ANON, ANON, NO, NO, BAD, BAD, BAD, BAD, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/audit".into(),
                None,
                [ANON, ANON, NO, OK, NO, NO, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/audit/verify".into(),
                None,
                [ANON, ANON, OK, OK, NO, NO, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/calendar/days?from=2026-02-01&to=2026-02-28".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            // Only the bureau assigns: it learns that the need does not exist.
            (
                Method::POST,
                "/api/v1/needs/999999/assign".into(),
                Some(json!({"department_id": gaj})),
                [ANON, ANON, MISS, NO, NO, NO, NO, NO, NO, NO],
            ),
            // Who may answer depends on the need, so every person learns it does not exist.
            (
                Method::POST,
                "/api/v1/needs/999999/answer".into(),
                Some(json!({"outcome": "declined", "reason": "x"})),
                [ANON, ANON, MISS, MISS, MISS, MISS, MISS, MISS, NO, NO],
            ),
            (
                Method::POST,
                "/api/v1/objections/999999/answer".into(),
                Some(json!({"step": "reject", "answer": "x"})),
                [ANON, ANON, MISS, MISS, MISS, MISS, MISS, MISS, NO, NO],
            ),
            // Last: it ends every person's session. An application token is no session and
            // is left as it is.
            (
                Method::POST,
                "/api/v1/auth/logout".into(),
                None,
                [ANON, ANON, GONE, GONE, GONE, GONE, GONE, GONE, GONE, GONE],
            ),
        ];
        matrix::check(&app, &tokens, &table).await;
        // Logging out ended the people's sessions; the application tokens still work.
        let ended = app.get("/api/v1/me", &tokens["admin"]).await;
        assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
        let application = app.get("/api/v1/me", &tokens["app:mzj"]).await;
        assert_eq!(application.status, StatusCode::OK, "{}", application.json);
        // Nothing above changed the catalogue or the collection.
        let admin = app.login("admin").await;
        let shown = app.get(&format!("/api/v1/resources/{open}"), &admin).await;
        assert_eq!(shown.json["status"], "published");
        let shown = app.get(&format!("/api/v1/resources/{draft}"), &admin).await;
        assert_eq!(shown.json["status"], "draft");
        let batches_after = app.get(&quality, &admin).await.json["batches"].clone();
        assert_eq!(batches_after, batches_before);
    }
}
