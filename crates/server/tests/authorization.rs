//! The authorisation matrix of sharing: every sharing and data endpoint under every role
//! and token kind, compared with the expected table. Bodies are chosen so that a caller who
//! is allowed fails validation afterwards (400/422) or succeeds without side effects,
//! which keeps the cells independent; every 401/403 must be in the audit log.

mod common;

use axum::http::{Method, StatusCode};
use common::{matrix, TestApp};
use domain::catalogue::ShareType;
use serde_json::json;

#[tokio::test]
async fn every_sharing_endpoint_under_every_role_and_token() {
    for app in TestApp::all(false).await {
        // gaj provides an unconditional and a conditional entry with one person each;
        // mzj's application holds a grant on the first and a pending request on the second.
        let mut open = testkit::fixtures::body("常住人口信息");
        open.share.share_type = ShareType::Unconditional;
        let open = app.publish(&open).await;
        let mut closed = testkit::fixtures::body("婚姻登记信息");
        closed.share.share_type = ShareType::Conditional;
        closed.share.conditions = Some("仅用于婚姻状况核验".into());
        let closed = app.publish(&closed).await;
        let gaj_staff = app.login("gaj-staff").await;
        let pushed = app
            .post(
                &format!("/api/v1/resources/{open}/records"),
                &gaj_staff,
                json!({"batch_key": "k", "records": [{"id_number": "11010519491231002X", "full_name": "张三"}]}),
            )
            .await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.json);
        let tokens = matrix::tokens(&app).await;
        let request = |code: &str| {
            json!({"resource": code, "items": ["id_number", "full_name"], "purpose": "低保资格审核",
                   "legal_basis": "《社会救助暂行办法》", "application": "低保审批系统",
                   "valid_until": (chrono::Utc::now().date_naive() + chrono::Duration::days(200)).to_string()})
        };
        let granted = app
            .post(
                "/api/v1/share-requests",
                &tokens["mzj-staff"],
                request(&open),
            )
            .await;
        let pending = app
            .post(
                "/api/v1/share-requests",
                &tokens["mzj-staff"],
                request(&closed),
            )
            .await;
        let (granted, pending) = (granted.json["id"].clone(), pending.json["id"].clone());
        let mut bad_request = request(&open);
        bad_request["purpose"] = json!("");

        use StatusCode as S;
        const OK: S = S::OK;
        const NO: S = S::FORBIDDEN;
        const ANON: S = S::UNAUTHORIZED;
        const BAD: S = S::BAD_REQUEST;
        const GONE: S = S::NO_CONTENT;
        const UNPR: S = S::UNPROCESSABLE_ENTITY;
        const MISS: S = S::NOT_FOUND;
        // Columns: anonymous, forged, admin, auditor, gaj-chief, gaj-staff, mzj-chief,
        // mzj-staff, app:mzj, app:gaj.
        let table: Vec<matrix::Row> = vec![
            (
                Method::GET,
                "/api/v1/share-requests".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, NO, NO],
            ),
            (
                Method::POST,
                "/api/v1/share-requests".into(),
                Some(bad_request.clone()),
                [ANON, ANON, NO, NO, NO, NO, BAD, BAD, NO, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/share-requests/{pending}"),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, NO, NO],
            ),
            // An allowed decider fails on the empty reason; nobody changes anything.
            (
                Method::POST,
                format!("/api/v1/share-requests/{pending}/decision"),
                Some(json!({"decision": "refuse", "reason": ""})),
                [ANON, ANON, NO, NO, BAD, NO, NO, NO, NO, NO],
            ),
            (
                Method::POST,
                format!("/api/v1/share-requests/{granted}/revoke"),
                Some(json!({"reason": ""})),
                [ANON, ANON, BAD, NO, BAD, NO, NO, NO, NO, NO],
            ),
            (
                Method::POST,
                format!("/api/v1/share-requests/{granted}/renew"),
                Some(json!({"valid_until": "2020-01-01"})),
                [ANON, ANON, NO, NO, NO, NO, BAD, BAD, NO, NO],
            ),
            (
                Method::PUT,
                "/api/v1/delegates/gaj-staff".into(),
                Some(json!({"allowed": false})),
                // Another department's chief learns nothing of gaj's people: not found.
                [ANON, ANON, NO, NO, GONE, NO, MISS, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/tasks".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, NO, NO],
            ),
            (
                Method::POST,
                "/api/v1/tasks/1/urge".into(),
                Some(json!({"note": "快"})),
                [ANON, ANON, BAD, NO, NO, NO, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/notifications".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, NO, NO],
            ),
            (
                Method::POST,
                "/api/v1/notifications/read".into(),
                Some(json!({"ids": []})),
                [ANON, ANON, BAD, BAD, BAD, BAD, BAD, BAD, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/accountability".into(),
                None,
                [ANON, ANON, OK, OK, NO, NO, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/calendar/years".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            (
                Method::POST,
                "/api/v1/calendar/years".into(),
                Some(
                    json!({"year": 2027, "notice": "x", "notice_date": "2026-11-01", "holidays": ["2027-02-30"], "make_up_days": []}),
                ),
                [ANON, ANON, UNPR, NO, NO, NO, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/calendar/deadline?received=2026-02-13&n=3".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, OK, OK],
            ),
            (
                Method::GET,
                format!("/api/v1/data/{open}/records"),
                None,
                [ANON, ANON, NO, NO, NO, NO, NO, NO, OK, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/data/{open}/records/11010519491231002X"),
                None,
                [ANON, ANON, NO, NO, NO, NO, NO, NO, OK, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/data/{closed}/records"),
                None,
                [ANON, ANON, NO, NO, NO, NO, NO, NO, NO, NO],
            ),
            (
                Method::POST,
                format!("/api/v1/data/{open}/verify"),
                Some(
                    json!({"key": {"id_number": "11010519491231002X"}, "values": {"full_name": "张三"}}),
                ),
                [ANON, ANON, NO, NO, NO, NO, NO, NO, OK, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/data/{open}/changes"),
                None,
                [ANON, ANON, NO, NO, NO, NO, NO, NO, OK, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/data/{open}/export?format=parquet"),
                None,
                [ANON, ANON, NO, NO, NO, NO, NO, NO, OK, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/data/{closed}/export"),
                None,
                [ANON, ANON, NO, NO, NO, NO, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/basis-reviews".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, NO, NO],
            ),
            // A shareable entry is requested, not reviewed: consumers fail validation; the
            // provider may not put its own entry to review.
            (
                Method::POST,
                "/api/v1/basis-reviews".into(),
                Some(json!({"resource": open, "items": [], "reason": "x"})),
                [ANON, ANON, NO, NO, NO, NO, BAD, BAD, NO, NO],
            ),
            (
                Method::POST,
                "/api/v1/basis-reviews/999999/decision".into(),
                Some(json!({"decision": "uphold", "answer": "x"})),
                [ANON, ANON, MISS, NO, NO, NO, NO, NO, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/needs".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, NO, NO],
            ),
            (
                Method::POST,
                "/api/v1/needs".into(),
                Some(json!({"title": "x", "description": "x"})),
                [ANON, ANON, NO, NO, BAD, BAD, BAD, BAD, NO, NO],
            ),
            (
                Method::GET,
                "/api/v1/objections".into(),
                None,
                [ANON, ANON, OK, OK, OK, OK, OK, OK, NO, NO],
            ),
            // Allowed objectors fail on the too-short description.
            (
                Method::POST,
                "/api/v1/objections".into(),
                Some(
                    json!({"resource": open, "key": ["11010519491231002X"], "items": ["full_name"], "description": "x"}),
                ),
                [ANON, ANON, NO, NO, NO, NO, BAD, BAD, NO, NO],
            ),
            (
                Method::GET,
                format!("/api/v1/resources/{open}/usage"),
                None,
                [ANON, ANON, OK, OK, OK, OK, NO, NO, NO, NO],
            ),
        ];
        matrix::check(&app, &tokens, &table).await;
        // Nothing above changed a request.
        let shown = app
            .get(
                &format!("/api/v1/share-requests/{pending}"),
                &tokens["admin"],
            )
            .await;
        assert_eq!(shown.json["status"], "pending");
    }
}
