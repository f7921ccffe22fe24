//! Sharing end to end over the real router, on every backend: requests and their paths,
//! grants, and the data API under them (projection, masking, filters, paging, verification,
//! limits, the access log).

mod common;

use axum::http::{Method, StatusCode};
use common::people::{in_days, loaded_entry, mzj_application, people, request, A, B, C};
use common::{error_of, Response, TestApp};
use domain::catalogue::ShareType;
use serde_json::{json, Value};
use store::on_pool;

fn names(page: &Response) -> Vec<String> {
    page.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["full_name"].as_str().unwrap_or("-").to_string())
        .collect()
}

#[tokio::test]
async fn an_unconditional_request_is_granted_at_once_and_the_api_serves_exactly_the_grant() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Unconditional).await;
        let token = mzj_application(&app, "低保审批系统").await;
        let staff = app.login("mzj-staff").await;
        let data = format!("/api/v1/data/{code}/records");

        // No grant yet.
        error_of(&app.get(&data, &token).await, StatusCode::FORBIDDEN);

        let submitted = app
            .post(
                "/api/v1/share-requests",
                &staff,
                request(&code, &["id_number", "full_name", "region"]),
            )
            .await;
        assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.json);
        assert_eq!(submitted.json["status"], "approved", "{}", app.backend);
        assert_eq!(
            submitted.json["countdown"]["state"], "done",
            "the 3-day duty is met at once"
        );

        let page = app.get(&data, &token).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.json);
        // Key order: B (…0011) < A (…002X) < C (…0046).
        let first = &page.json["items"][0];
        assert_eq!(
            first["id_number"], "110105********0011",
            "personal items masked"
        );
        assert_eq!(first["full_name"], "李*");
        assert_eq!(first["region"], "341003", "not personal: in clear");
        assert!(first.get("religion").is_none(), "{first}");
        assert_eq!(page.json["items"].as_array().unwrap().len(), 3);
        assert!(page.json["next"].is_null());

        // Projection, filters, and what they may not touch.
        let only_region = app.get(&format!("{data}?fields=region"), &token).await;
        assert_eq!(only_region.json["items"][0].as_object().unwrap().len(), 1);
        error_of(
            &app.get(&format!("{data}?fields=religion"), &token).await,
            StatusCode::FORBIDDEN,
        );
        let filtered = app.get(&format!("{data}?region=341002"), &token).await;
        assert_eq!(names(&filtered), ["张*", "王*"]);
        error_of(
            &app.get(&format!("{data}?religion=无"), &token).await,
            StatusCode::FORBIDDEN,
        );
        error_of(
            &app.get(&format!("{data}?salary=1"), &token).await,
            StatusCode::BAD_REQUEST,
        );
        let injection = app
            .get(
                &format!("{data}?full_name=%27%20OR%20%271%27%3D%271"),
                &token,
            )
            .await;
        assert_eq!(injection.status, StatusCode::OK, "{}", injection.json);
        assert_eq!(
            injection.json["items"],
            json!([]),
            "a value is a value, never SQL"
        );

        // Keyset paging with an opaque cursor that cannot be forged.
        let one = app.get(&format!("{data}?limit=1"), &token).await;
        let next = one.json["next"].as_str().unwrap().to_string();
        assert!(!next.contains("1101"), "the cursor does not show the key");
        let two = app
            .get(&format!("{data}?limit=1&after={next}"), &token)
            .await;
        assert_eq!(two.status, StatusCode::OK, "{}", two.json);
        assert_ne!(names(&one), names(&two));
        let mut forged = next.clone().into_bytes();
        forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        let tampered = app
            .get(&format!("{data}?limit=1&after={forged}"), &token)
            .await;
        assert_eq!(
            error_of(&tampered, StatusCode::BAD_REQUEST)["code"],
            "bad_cursor"
        );
        error_of(
            &app.get(&format!("{data}?limit=0"), &token).await,
            StatusCode::BAD_REQUEST,
        );

        // One record, and verification that never returns data.
        let record = app.get(&format!("{data}/{B}"), &token).await;
        assert_eq!(record.json["full_name"], "李*", "{}", record.json);
        error_of(
            &app.get(&format!("{data}/{}", "110105194912310038"), &token)
                .await,
            StatusCode::NOT_FOUND,
        );
        let verify = format!("/api/v1/data/{code}/verify");
        let yes = app
            .post(&verify, &token, json!({"key": {"id_number": A}, "values": {"full_name": "张三", "region": "341003"}}))
            .await;
        assert_eq!(yes.status, StatusCode::OK, "{}", yes.json);
        assert_eq!(
            yes.json,
            json!({"found": true, "matches": {"full_name": true, "region": false}})
        );
        let absent = app
            .post(&verify, &token, json!({"key": {"id_number": "110105194912310038"}, "values": {"full_name": "张三"}}))
            .await;
        assert_eq!(absent.json, json!({"found": false, "matches": {}}));
        error_of(
            &app.post(
                &verify,
                &token,
                json!({"key": {"id_number": A}, "values": {"religion": "无"}}),
            )
            .await,
            StatusCode::FORBIDDEN,
        );

        // People use the pages, not the data API; forged and foreign tokens get nothing.
        error_of(&app.get(&data, &staff).await, StatusCode::FORBIDDEN);
        error_of(
            &app.get(&data, "dhapp_forged-token").await,
            StatusCode::UNAUTHORIZED,
        );
        let gaj_chief = app.login("gaj-chief").await;
        let foreign = app
            .post(
                "/api/v1/tokens",
                &gaj_chief,
                json!({"application": "低保审批系统"}),
            )
            .await;
        let foreign = foreign.json["token"].as_str().unwrap();
        error_of(&app.get(&data, foreign).await, StatusCode::FORBIDDEN);

        // Every call is logged without its values; refusals are in the audit log too.
        app.store.flush_denials().await.unwrap();
        let (calls, leaked): (i64, i64) = on_pool!(app.store, pool => {
            sqlx::query_as("SELECT COUNT(*), SUM(CASE WHEN items LIKE '%张%' OR filter_shape LIKE '%341002%' OR filter_shape LIKE '%OR%' THEN 1 ELSE 0 END) FROM access_log")
                .fetch_one(pool).await.unwrap()
        });
        assert!(calls >= 17, "{} calls logged", calls);
        assert_eq!(leaked, 0);
        let audit = app
            .get("/api/v1/audit?outcome=denied", &app.login("auditor").await)
            .await;
        assert!(
            audit.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["target"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("/api/v1/data/"))),
            "{}",
            audit.json
        );

        // Without its access log the data API stops rather than serve unrecorded reads.
        on_pool!(app.store, pool => {
            sqlx::query("ALTER TABLE access_log RENAME TO access_log_away").execute(pool).await.unwrap();
        });
        let closed = app.get(&data, &token).await;
        assert_eq!(
            error_of(&closed, StatusCode::SERVICE_UNAVAILABLE)["code"],
            "unavailable"
        );
        assert!(
            closed.json["items"].is_null(),
            "no data without a record of it"
        );
        on_pool!(app.store, pool => {
            sqlx::query("ALTER TABLE access_log_away RENAME TO access_log").execute(pool).await.unwrap();
        });
        assert_eq!(
            app.get(&data, &token).await.status,
            StatusCode::OK,
            "and resumes once it can write"
        );
    }
}

#[tokio::test]
async fn a_conditional_request_waits_for_the_provider_and_refusals_go_to_the_bureau() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let token = mzj_application(&app, "低保审批系统").await;
        let (mzj_staff, mzj_chief) = (app.login("mzj-staff").await, app.login("mzj-chief").await);
        let (gaj_staff, gaj_chief, admin) = (
            app.login("gaj-staff").await,
            app.login("gaj-chief").await,
            app.login("admin").await,
        );
        let submit = |items: &'static [&'static str]| {
            let (app, code, staff) = (&app, code.clone(), mzj_staff.clone());
            async move {
                let r = app
                    .post("/api/v1/share-requests", &staff, request(&code, items))
                    .await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
                assert_eq!(r.json["status"], "pending");
                r.json
            }
        };
        let decide = |id: &Value, token: &str, decision: Value| {
            let uri = format!("/api/v1/share-requests/{id}/decision");
            let token = token.to_string();
            let app = &app;
            async move { app.post(&uri, &token, decision).await }
        };

        let first = submit(&["id_number", "full_name"]).await;
        let countdown = first["countdown"]["text"].as_str().unwrap();
        assert!(countdown.starts_with("剩余 "), "{countdown}");
        let due = first["duty"]["due_date"].as_str().unwrap().to_string();
        let calendar = app
            .get(
                &format!(
                    "/api/v1/calendar/deadline?received={}&n=10",
                    first["created_at"].as_str().unwrap()
                ),
                &admin,
            )
            .await;
        assert_eq!(
            calendar.json["due"], due,
            "10 working days on the holiday calendar"
        );
        let queue = app.get("/api/v1/tasks", &gaj_chief).await;
        assert!(queue.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["subject"] == json!({"type": "share_request", "id": first["id"]})));

        // Only the provider decides: staff need the chief's delegation; the consumer never.
        error_of(
            &decide(&first["id"], &gaj_staff, json!({"decision": "approve"})).await,
            StatusCode::FORBIDDEN,
        );
        error_of(
            &decide(&first["id"], &mzj_chief, json!({"decision": "approve"})).await,
            StatusCode::FORBIDDEN,
        );
        error_of(
            &decide(&first["id"], &admin, json!({"decision": "approve"})).await,
            StatusCode::FORBIDDEN,
        );
        let delegated = app
            .call(
                Method::PUT,
                "/api/v1/delegates/gaj-staff",
                Some(&gaj_chief),
                Some(json!({"allowed": true})),
            )
            .await;
        assert_eq!(
            delegated.status,
            StatusCode::NO_CONTENT,
            "{}",
            delegated.json
        );
        let wider = decide(
            &first["id"],
            &gaj_staff,
            json!({"decision": "approve", "items": ["region"]}),
        )
        .await;
        error_of(&wider, StatusCode::BAD_REQUEST);
        let approved = decide(
            &first["id"],
            &gaj_staff,
            json!({"decision": "approve", "items": ["full_name"]}),
        )
        .await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.json);
        assert_eq!(approved.json["granted_items"], json!(["full_name"]));
        assert_eq!(approved.json["countdown"]["state"], "done");
        let page = app
            .get(&format!("/api/v1/data/{code}/records"), &token)
            .await;
        assert_eq!(
            page.json["items"][0],
            json!({"full_name": "李*"}),
            "{}",
            page.json
        );

        // A refusal needs a reason and goes to the bureau, whose decision stands.
        let second = submit(&["region"]).await;
        error_of(
            &decide(
                &second["id"],
                &gaj_chief,
                json!({"decision": "refuse", "reason": ""}),
            )
            .await,
            StatusCode::BAD_REQUEST,
        );
        let refused = decide(
            &second["id"],
            &gaj_chief,
            json!({"decision": "refuse", "reason": "区划信息涉及户籍管理"}),
        )
        .await;
        assert_eq!(refused.json["status"], "coordinating", "{}", refused.json);
        let bureau_queue = app.get("/api/v1/tasks", &admin).await;
        assert!(bureau_queue.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "coordination"));
        error_of(
            &decide(&second["id"], &gaj_chief, json!({"decision": "approve"})).await,
            StatusCode::FORBIDDEN,
        );
        let overruled = decide(&second["id"], &admin, json!({"decision": "approve"})).await;
        assert_eq!(overruled.json["status"], "approved", "{}", overruled.json);
        // One grant per application and entry: the newer one replaces the older.
        let page = app
            .get(&format!("/api/v1/data/{code}/records"), &token)
            .await;
        assert_eq!(
            page.json["items"][0],
            json!({"region": "341003"}),
            "{}",
            page.json
        );
        let third = submit(&["region"]).await;
        decide(
            &third["id"],
            &gaj_chief,
            json!({"decision": "refuse", "reason": "重复申请，已有授权"}),
        )
        .await;
        let upheld = decide(
            &third["id"],
            &admin,
            json!({"decision": "refuse", "reason": "维持提供方意见"}),
        )
        .await;
        assert_eq!(upheld.json["status"], "refused");
        error_of(
            &decide(&third["id"], &admin, json!({"decision": "approve"})).await,
            StatusCode::CONFLICT,
        );

        // Renewal is a new request; revocation ends the grant at once.
        let renewed = app
            .post(
                &format!("/api/v1/share-requests/{}/renew", first["id"]),
                &mzj_staff,
                json!({"valid_until": in_days(400)}),
            )
            .await;
        assert_eq!(renewed.status, StatusCode::CREATED, "{}", renewed.json);
        assert_eq!(
            (
                renewed.json["renewal_of"].clone(),
                renewed.json["status"].clone()
            ),
            (first["id"].clone(), json!("pending"))
        );
        let revoke = format!("/api/v1/share-requests/{}/revoke", first["id"]);
        error_of(
            &app.post(&revoke, &mzj_chief, json!({"reason": "不再需要"}))
                .await,
            StatusCode::FORBIDDEN,
        );
        let revoked = app
            .post(&revoke, &gaj_chief, json!({"reason": "用途超出申请范围"}))
            .await;
        assert_eq!(revoked.json["status"], "revoked", "{}", revoked.json);
        let region_only = app
            .get(&format!("/api/v1/data/{code}/records"), &token)
            .await;
        assert_eq!(
            region_only.json["items"][0],
            json!({"region": "341003"}),
            "the bureau's later grant replaced the first"
        );

        // What may not be asked for at all.
        let mut unknown = request(&code, &["salary", "religion"]);
        let bad = app
            .post("/api/v1/share-requests", &mzj_staff, unknown.clone())
            .await;
        let fields: Vec<&str> = error_of(&bad, StatusCode::BAD_REQUEST)["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["items[0]", "items[1]"]);
        unknown["items"] = json!(["full_name"]);
        error_of(
            &app.post("/api/v1/share-requests", &gaj_staff, unknown)
                .await,
            StatusCode::FORBIDDEN,
        );

        // Past its due date a duty is recorded for accountability, and the bureau may step in.
        let late = submit(&["full_name"]).await;
        on_pool!(app.store, pool => {
            sqlx::query("UPDATE duties SET due_date = $1 WHERE subject_type = 'share_request' AND subject_id = $2")
                .bind(chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap())
                .bind(late["id"].as_i64().unwrap())
                .execute(pool).await.unwrap();
        });
        let shown = app
            .get(
                &format!("/api/v1/share-requests/{}", late["id"]),
                &mzj_staff,
            )
            .await;
        assert_eq!(
            shown.json["countdown"]["state"], "overdue",
            "{}",
            shown.json
        );
        let records = app.get("/api/v1/accountability", &admin).await;
        let missed: Vec<&Value> = records.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["subject"] == format!("share_request:{}", late["id"]))
            .collect();
        assert_eq!(missed.len(), 1, "{}", records.json);
        assert_eq!(missed[0]["department_id"], app.gaj.id);
        let again = app.get("/api/v1/accountability", &admin).await;
        assert_eq!(again.json["total"], records.json["total"], "recorded once");
        let stepped_in = decide(&late["id"], &admin, json!({"decision": "approve"})).await;
        assert_eq!(stepped_in.json["status"], "approved", "{}", stepped_in.json);
        assert_eq!(stepped_in.json["countdown"]["state"], "done_late");
        assert!(app.store.audit_verify().await.unwrap().intact);
    }
}

#[tokio::test]
async fn limits_and_quotas_answer_429_with_retry_after() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let token = mzj_application(&app, "低保审批系统").await;
        let staff = app.login("mzj-staff").await;
        let chief = app.login("gaj-chief").await;
        let submitted = app
            .post(
                "/api/v1/share-requests",
                &staff,
                request(&code, &["id_number", "full_name", "region"]),
            )
            .await;
        let decided = app
            .post(
                &format!("/api/v1/share-requests/{}/decision", submitted.json["id"]),
                &chief,
                json!({"decision": "approve", "rate_per_minute": 2, "row_filter": {"region": ["341002"]}}),
            )
            .await;
        assert_eq!(decided.status, StatusCode::OK, "{}", decided.json);
        let data = format!("/api/v1/data/{code}/records");
        let page = app.get(&data, &token).await;
        assert_eq!(
            names(&page),
            ["张*", "王*"],
            "the grant's row filter always applies"
        );
        let outside = app.get(&format!("{data}/{B}"), &token).await;
        error_of(&outside, StatusCode::NOT_FOUND);
        let limited = app.get(&data, &token).await;
        error_of(&limited, StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        let outcome: String = on_pool!(app.store, pool => {
            sqlx::query_scalar("SELECT outcome FROM access_log ORDER BY id DESC LIMIT 1").fetch_one(pool).await.unwrap()
        });
        assert_eq!(outcome, "rate_limited");
    }
}

#[tokio::test]
async fn an_accepted_objection_flags_the_record_for_every_consumer_until_it_is_answered() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Unconditional).await;
        let token = mzj_application(&app, "低保审批系统").await;
        let (mzj_staff, gaj_staff) = (app.login("mzj-staff").await, app.login("gaj-staff").await);
        let objection = |key: &str| json!({"resource": code, "key": [key], "items": ["full_name"], "description": "姓名与户口簿不一致"});
        // Only a department holding a grant may object.
        error_of(
            &app.post("/api/v1/objections", &mzj_staff, objection(A))
                .await,
            StatusCode::FORBIDDEN,
        );
        app.post(
            "/api/v1/share-requests",
            &mzj_staff,
            request(&code, &["id_number", "full_name"]),
        )
        .await;
        error_of(
            &app.post(
                "/api/v1/objections",
                &mzj_staff,
                objection("110105194912310038"),
            )
            .await,
            StatusCode::BAD_REQUEST,
        );
        error_of(
            &app.post("/api/v1/objections", &mzj_staff, objection("bad"))
                .await,
            StatusCode::BAD_REQUEST,
        );
        let raised = app
            .post("/api/v1/objections", &mzj_staff, objection(A))
            .await;
        assert_eq!(raised.status, StatusCode::CREATED, "{}", raised.json);
        assert_eq!(raised.json["status"], "submitted");
        assert!(raised.json["countdown"]["text"]
            .as_str()
            .unwrap()
            .starts_with("剩余 "));
        let answer = format!("/api/v1/objections/{}/answer", raised.json["id"]);
        let record = format!("/api/v1/data/{code}/records/{A}");
        assert!(
            app.get(&record, &token)
                .await
                .json
                .get("_objection")
                .is_none(),
            "not flagged before acceptance"
        );

        error_of(
            &app.post(&answer, &mzj_staff, json!({"step": "accept"}))
                .await,
            StatusCode::FORBIDDEN,
        );
        error_of(
            &app.post(
                &answer,
                &gaj_staff,
                json!({"step": "correct", "answer": "已更正"}),
            )
            .await,
            StatusCode::CONFLICT,
        );
        let accepted = app
            .post(&answer, &gaj_staff, json!({"step": "accept"}))
            .await;
        assert_eq!(accepted.json["status"], "accepted", "{}", accepted.json);
        assert_eq!(app.get(&record, &token).await.json["_objection"], "异议中");
        let page = app
            .get(&format!("/api/v1/data/{code}/records"), &token)
            .await;
        let flagged: Vec<bool> = page.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.get("_objection").is_some())
            .collect();
        assert_eq!(
            flagged,
            [false, true, false],
            "only A (second by key) is flagged"
        );

        let corrected = app
            .post(
                &answer,
                &gaj_staff,
                json!({"step": "correct", "answer": "已按户籍档案更正姓名"}),
            )
            .await;
        assert_eq!(corrected.json["status"], "corrected", "{}", corrected.json);
        assert_eq!(corrected.json["countdown"]["state"], "done");
        assert!(app
            .get(&record, &token)
            .await
            .json
            .get("_objection")
            .is_none());
        let listed = app.get("/api/v1/objections", &mzj_staff).await;
        assert_eq!(listed.json["total"], 1);
    }
}

#[tokio::test]
async fn a_need_is_assigned_by_the_bureau_and_answered_by_the_provider_in_time() {
    for app in TestApp::all(false).await {
        let (mzj_staff, gaj_staff, gaj_chief, admin) = (
            app.login("mzj-staff").await,
            app.login("gaj-staff").await,
            app.login("gaj-chief").await,
            app.login("admin").await,
        );
        error_of(
            &app.post(
                "/api/v1/needs",
                &admin,
                json!({"title": "殡葬信息", "description": "火化证明信息"}),
            )
            .await,
            StatusCode::FORBIDDEN,
        );
        error_of(
            &app.post(
                "/api/v1/needs",
                &mzj_staff,
                json!({"title": "x", "description": ""}),
            )
            .await,
            StatusCode::BAD_REQUEST,
        );
        let posted = app
            .post(
                "/api/v1/needs",
                &mzj_staff,
                json!({"title": "居民死亡信息", "description": "低保对象死亡后及时停发，依据《社会救助暂行办法》"}),
            )
            .await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.json);
        assert_eq!(posted.json["status"], "submitted");
        let id = posted.json["id"].clone();
        let answer = format!("/api/v1/needs/{id}/answer");
        let decline = json!({"outcome": "declined", "reason": "本部门不掌握该数据"});
        error_of(
            &app.post(&answer, &gaj_chief, decline.clone()).await,
            StatusCode::CONFLICT,
        );
        let assign = format!("/api/v1/needs/{id}/assign");
        error_of(
            &app.post(&assign, &gaj_chief, json!({"department_id": app.gaj.id}))
                .await,
            StatusCode::FORBIDDEN,
        );
        error_of(
            &app.post(&assign, &admin, json!({"department_id": app.mzj.id}))
                .await,
            StatusCode::CONFLICT,
        );
        let assigned = app
            .post(&assign, &admin, json!({"department_id": app.gaj.id}))
            .await;
        assert_eq!(assigned.json["status"], "assigned", "{}", assigned.json);
        assert!(assigned.json["countdown"]["text"]
            .as_str()
            .unwrap()
            .starts_with("剩余 "));
        let queue = app.get("/api/v1/tasks", &gaj_staff).await;
        assert!(queue.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "need_response"));

        // The provider answers with an entry of its own; someone else's is refused.
        error_of(
            &app.post(&answer, &mzj_staff, decline.clone()).await,
            StatusCode::FORBIDDEN,
        );
        let code = app.published_entry("居民死亡登记信息").await;
        let unknown = app
            .post(
                &answer,
                &gaj_staff,
                json!({"outcome": "catalogued", "resource": "999999/000001"}),
            )
            .await;
        error_of(&unknown, StatusCode::NOT_FOUND);
        let catalogued = app
            .post(
                &answer,
                &gaj_staff,
                json!({"outcome": "catalogued", "resource": code, "note": "已编目并发布"}),
            )
            .await;
        assert_eq!(
            catalogued.json["status"], "catalogued",
            "{}",
            catalogued.json
        );
        assert_eq!(catalogued.json["resource_code"], code);
        assert_eq!(catalogued.json["countdown"]["state"], "done");
        error_of(
            &app.post(&answer, &gaj_staff, decline).await,
            StatusCode::CONFLICT,
        );
        let listed = app.get("/api/v1/needs", &app.login("auditor").await).await;
        assert_eq!(listed.json["total"], 1);
    }
}

/// Follows an entry's change feed from `since` to its end, `limit` changes a call.
async fn follow(
    app: &TestApp,
    code: &str,
    token: &str,
    since: Option<&str>,
    limit: u32,
) -> (Vec<Value>, String) {
    let mut changes = Vec::new();
    let mut since = since.map(str::to_string);
    for _ in 0..20 {
        let mut uri = format!("/api/v1/data/{code}/changes?limit={limit}");
        if let Some(cursor) = &since {
            uri.push_str(&format!("&since={cursor}"));
        }
        let page = app.get(&uri, token).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.json);
        changes.extend(page.json["changes"].as_array().unwrap().iter().cloned());
        since = Some(page.json["next"].as_str().unwrap().to_string());
        if page.json["more"] == false {
            return (changes, since.unwrap());
        }
    }
    panic!("the feed did not end");
}

#[tokio::test]
async fn the_change_feed_and_the_export_give_exactly_the_granted_slice() {
    use store::batch_writer::BatchStart;
    use store::AuditContext;
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let token = mzj_application(&app, "低保审批系统").await;
        let staff = app.login("mzj-staff").await;
        let chief = app.login("gaj-chief").await;
        let mut asked = request(&code, &["id_number", "full_name", "region"]);
        asked["clear_items"] = json!(["id_number"]);
        let submitted = app.post("/api/v1/share-requests", &staff, asked).await;
        let decided = app
            .post(
                &format!("/api/v1/share-requests/{}/decision", submitted.json["id"]),
                &chief,
                json!({"decision": "approve", "clear_items": ["id_number"], "row_filter": {"region": ["341002"]}}),
            )
            .await;
        assert_eq!(decided.status, StatusCode::OK, "{}", decided.json);
        let base = format!("/api/v1/data/{code}");

        // The export: the granted slice in one file, and where the feed goes on from.
        let csv = app.get(&format!("{base}/export"), &token).await;
        assert_eq!(
            csv.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&csv.bytes)
        );
        assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
        assert_eq!(csv.headers["x-row-count"], "2");
        assert_eq!(
            String::from_utf8(csv.bytes.clone()).unwrap(),
            format!("id_number,full_name,region\n{A},张*,341002\n{C},王*,341002\n"),
            "{}: row filter, masking, projection; religion never leaves",
            app.backend
        );
        let export_cursor = csv.headers["x-changes-cursor"]
            .to_str()
            .unwrap()
            .to_string();
        let parquet = app
            .get(
                &format!("{base}/export?format=parquet&fields=id_number,region"),
                &token,
            )
            .await;
        assert_eq!(parquet.status, StatusCode::OK);
        let file = parquet::file::reader::SerializedFileReader::new(axum::body::Bytes::from(
            parquet.bytes.clone(),
        ))
        .unwrap();
        use parquet::file::reader::FileReader;
        let rows: Vec<(String, String)> = file
            .get_row_iter(None)
            .unwrap()
            .map(|row| {
                use parquet::record::RowAccessor;
                let row = row.unwrap();
                (
                    row.get_string(0).unwrap().clone(),
                    row.get_string(1).unwrap().clone(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (A.to_string(), "341002".to_string()),
                (C.to_string(), "341002".to_string())
            ]
        );
        error_of(
            &app.get(&format!("{base}/export?format=xlsx"), &token).await,
            StatusCode::BAD_REQUEST,
        );
        error_of(
            &app.get(&format!("{base}/export?religion=无"), &token).await,
            StatusCode::FORBIDDEN,
        );

        // From the beginning, the feed holds the same two records.
        let (all, head) = follow(&app, &code, &token, None, 500).await;
        let ids: Vec<&Value> = all.iter().map(|c| &c["record"]["id_number"]).collect();
        assert_eq!(ids, [A, C], "{}", app.backend);
        assert!(all
            .iter()
            .all(|c| c["op"] == "upsert" && c["record"].get("religion").is_none()));
        let (none, _) = follow(&app, &code, &token, Some(&head), 500).await;
        assert!(none.is_empty(), "nothing changed since: {none:?}");

        // A push renames 王五 and 李四 (outside the row filter); a pull deletes 张三 and 李四.
        let pushed = app
            .post(
                &format!("/api/v1/resources/{code}/records"),
                &app.login("gaj-staff").await,
                json!({"batch_key": "rename", "records": [
                    {"id_number": B, "full_name": "李四四", "region": "341003", "religion": "无"},
                    {"id_number": C, "full_name": "王五五", "region": "341002", "religion": "无"},
                ]}),
            )
            .await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.json);
        let BatchStart::Started(mut pull) = app
            .store
            .begin_batch(&code, "pull", None, &AuditContext::system("test"))
            .await
            .unwrap()
        else {
            panic!("a pull always starts");
        };
        pull.delete(&[
            vec![domain::values::TypedValue::Text(A.into())],
            vec![domain::values::TypedValue::Text(B.into())],
        ])
        .await
        .unwrap();
        assert_eq!(pull.finish().await.unwrap().rows_deleted, 2);

        // Since the export, and since the earlier head, one call or a change at a time:
        // 王五's new state, then 张三's deletion; nothing of 李四.
        for (since, limit) in [(&export_cursor, 500), (&head, 500), (&head, 1)] {
            let (changes, _) = follow(&app, &code, &token, Some(since), limit).await;
            assert_eq!(
                changes,
                [
                    json!({"op": "upsert", "record": {"id_number": C, "full_name": "王**", "region": "341002"}}),
                    json!({"op": "delete", "key": {"id_number": A}}),
                ],
                "{} limit {limit}",
                app.backend
            );
        }
        let (from_start, _) = follow(&app, &code, &token, None, 1).await;
        assert_eq!(from_start.len(), 2, "{from_start:?}");

        // Cursors can be neither forged nor swapped between endpoints.
        let mut forged = head.clone();
        forged.replace_range(4..6, if &head[4..6] == "AA" { "BB" } else { "AA" });
        error_of(
            &app.get(&format!("{base}/changes?since={forged}"), &token)
                .await,
            StatusCode::BAD_REQUEST,
        );
        let records = app.get(&format!("{base}/records?limit=1"), &token).await;
        let page_cursor = records.json["next"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let swapped = app
            .get(&format!("{base}/changes?since={page_cursor}"), &token)
            .await;
        assert_eq!(swapped.status, StatusCode::BAD_REQUEST, "{}", swapped.json);
        error_of(
            &app.get(&format!("{base}/changes?religion=无"), &token)
                .await,
            StatusCode::FORBIDDEN,
        );

        // Every call is in the access log, the export with its row count.
        let exported: Vec<i64> = on_pool!(app.store, pool => {
            sqlx::query_scalar("SELECT row_count FROM access_log WHERE endpoint = 'export' AND outcome = 'ok' ORDER BY id")
                .fetch_all(pool).await.unwrap()
        });
        assert_eq!(exported, [2, 2]);

        // A cursor older than the feed's retention (90 days) is refused, not half-served.
        let long_ago = chrono::Utc::now() - chrono::Duration::days(91);
        on_pool!(app.store, pool => {
            sqlx::query("UPDATE batches SET finished_at = $1").bind(long_ago).execute(pool).await.unwrap();
        });
        error_of(
            &app.get(&format!("{base}/changes?since={head}"), &token)
                .await,
            StatusCode::GONE,
        );
        let (again, _) = follow(&app, &code, &token, None, 500).await;
        assert_eq!(again.len(), 2, "from the beginning needs no cursor");
    }
}

#[tokio::test]
async fn a_consumer_asks_the_bureau_to_review_why_data_is_not_shared() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let (mzj, gaj, gaj_chief, admin) = (
            app.login("mzj-staff").await,
            app.login("gaj-staff").await,
            app.login("gaj-chief").await,
            app.login("admin").await,
        );
        let ask = |items: Value, reason: &str| json!({"resource": code, "items": items, "reason": reason});
        let reason = "开展宗教事务管理需核对信仰登记，依据《宗教事务条例》第七条";
        // Shared data is requested, not reviewed; the reason must say something.
        for (items, why, field) in [
            (json!(["full_name"]), reason, "items[0]"),
            (json!([]), reason, "items"),
            (json!(["salary"]), reason, "items[0]"),
            (json!(["religion"]), "要", "reason"),
        ] {
            let refused = app
                .post("/api/v1/basis-reviews", &mzj, ask(items, why))
                .await;
            let error = error_of(&refused, StatusCode::BAD_REQUEST);
            assert_eq!(error["details"][0]["field"], field, "{error}");
        }
        let own = app
            .post(
                "/api/v1/basis-reviews",
                &gaj,
                ask(json!(["religion"]), reason),
            )
            .await;
        error_of(&own, StatusCode::FORBIDDEN);

        let asked = app
            .post(
                "/api/v1/basis-reviews",
                &mzj,
                ask(json!(["religion"]), reason),
            )
            .await;
        assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.json);
        assert_eq!(asked.json["status"], "submitted");
        assert_eq!(
            asked.json["countdown"]["state"], "on_time",
            "{}",
            asked.json
        );
        let id = asked.json["id"].as_i64().unwrap();
        let bureau_queue = app.get("/api/v1/tasks", &admin).await;
        assert!(
            bureau_queue.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["subject"] == json!({"type": "basis_review", "id": id})),
            "{}",
            bureau_queue.json
        );
        for (who, token) in [("the consumer", &mzj), ("the provider's chief", &gaj_chief)] {
            let decided = app
                .post(
                    &format!("/api/v1/basis-reviews/{id}/decision"),
                    token,
                    json!({"decision": "overturn", "answer": "依据不足，应予共享"}),
                )
                .await;
            assert_eq!(
                decided.status,
                StatusCode::FORBIDDEN,
                "{who}: {}",
                decided.json
            );
        }
        let decision = format!("/api/v1/basis-reviews/{id}/decision");
        let overturned = app
            .post(
                &decision,
                &admin,
                json!({"decision": "overturn", "answer": "所列依据不能支持不予共享，请提供方调整为有条件共享"}),
            )
            .await;
        assert_eq!(overturned.status, StatusCode::OK, "{}", overturned.json);
        assert_eq!(overturned.json["status"], "overturned");
        // The provider now owes a revision of the entry, in its queue…
        assert_eq!(
            overturned.json["duty"]["kind"], "basis_revision",
            "{}",
            overturned.json
        );
        assert_eq!(overturned.json["countdown"]["state"], "on_time");
        let provider_queue = app.get("/api/v1/tasks", &gaj).await;
        assert!(
            provider_queue.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["kind"] == "basis_revision"
                    && d["subject"] == json!({"type": "basis_review", "id": id})),
            "{}",
            provider_queue.json
        );
        // …which a new published version (the bureau checks it there) discharges.
        let mut revised = people(ShareType::Conditional);
        revised.items[3].share_type = Some(ShareType::Conditional);
        let updated = app
            .call(
                Method::PUT,
                &format!("/api/v1/resources/{code}"),
                Some(&gaj),
                Some(serde_json::to_value(&revised).unwrap()),
            )
            .await;
        assert_eq!(updated.status, StatusCode::OK, "{}", updated.json);
        for (token, action) in [(&gaj, "submit"), (&gaj_chief, "sign"), (&admin, "publish")] {
            let stepped = app
                .post(
                    &format!("/api/v1/resources/{code}/workflow"),
                    token,
                    json!({"action": action}),
                )
                .await;
            assert_eq!(stepped.status, StatusCode::OK, "{action}: {}", stepped.json);
        }
        let after = app.get("/api/v1/basis-reviews", &gaj).await;
        assert_eq!(
            after.json["items"][0]["countdown"]["state"], "done",
            "{}",
            after.json
        );
        let again = app
            .post(
                &decision,
                &admin,
                json!({"decision": "uphold", "answer": "维持原结论"}),
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.json);
        // Both sides and the bureau see it; the audit log holds the decision.
        for token in [&mzj, &gaj, &admin] {
            let listed = app.get("/api/v1/basis-reviews", token).await;
            assert_eq!(
                listed.json["items"].as_array().unwrap().len(),
                1,
                "{}",
                listed.json
            );
        }
        let decisions: i64 = on_pool!(app.store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'basis_review.decide'")
                .fetch_one(pool).await.unwrap()
        });
        assert_eq!(decisions, 1);
    }
}

#[tokio::test]
async fn an_export_past_its_deadline_ends_in_an_error_and_frees_its_slot() {
    use tower::ServiceExt;
    for app in TestApp::all_with(false, |config| {
        config.export_deadline = std::time::Duration::from_millis(300);
    })
    .await
    {
        let code = loaded_entry(&app, ShareType::Unconditional).await;
        // 40,000 more rows: more pages than the export's buffers hold, so a reader that
        // stops reading keeps the export waiting.
        let provider = app.login("gaj-staff").await;
        for chunk in 0..4u32 {
            let records: Vec<Value> = (0..10_000u32)
                .map(|i| {
                    let n = chunk * 10_000 + i;
                    let legacy = format!(
                        "110105{:02}{:02}{:02}{:03}",
                        30 + n / 336_000,
                        1 + (n / 28_000) % 12,
                        1 + (n / 1000) % 28,
                        n % 1000
                    );
                    let id = domain::ids::IdCardNumber::parse(&legacy).unwrap().to_string();
                    json!({"id_number": id, "full_name": "居民", "region": "341002", "religion": "无"})
                })
                .collect();
            let pushed = app
                .post(
                    &format!("/api/v1/resources/{code}/records"),
                    &provider,
                    json!({"batch_key": format!("more-{chunk}"), "records": records}),
                )
                .await;
            assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.json);
        }
        let token = mzj_application(&app, "低保审批系统").await;
        let staff = app.login("mzj-staff").await;
        let submitted = app
            .post(
                "/api/v1/share-requests",
                &staff,
                request(&code, &["id_number", "full_name", "region"]),
            )
            .await;
        assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.json);
        // More exports than slots, each read too slowly: each ends in an error at its
        // deadline (never as a whole file) and gives its slot back for the next.
        for _ in 0..6 {
            let request = axum::http::Request::get(format!("/api/v1/data/{code}/export"))
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let response = app.router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{}", app.backend);
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
            let body = axum::body::to_bytes(response.into_body(), 64 << 20).await;
            assert!(
                body.is_err(),
                "{}: the cut file does not end as whole",
                app.backend
            );
        }
    }
}

/// Issue 12, item 7: with the access log journaled locally (and shipped here only when
/// someone reads it), the provider's usage counts every call made before it is shown.
#[tokio::test]
async fn journaled_calls_count_in_usage_at_once() {
    for app in TestApp::all(false).await {
        let dir = tempfile::tempdir().unwrap();
        let app = app.journaled(dir.path()).await;
        let code = loaded_entry(&app, ShareType::Unconditional).await;
        let token = mzj_application(&app, "低保审批系统").await;
        let staff = app.login("mzj-staff").await;
        let submitted = app
            .post(
                "/api/v1/share-requests",
                &staff,
                request(&code, &["id_number", "full_name", "region"]),
            )
            .await;
        assert_eq!(submitted.json["status"], "approved", "{}", submitted.json);
        let data = format!("/api/v1/data/{code}/records");
        for _ in 0..3 {
            assert_eq!(app.get(&data, &token).await.status, StatusCode::OK);
        }
        let journaled: i64 = on_pool!(app.store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM access_log WHERE journal IS NOT NULL").fetch_one(pool).await.unwrap()
        });
        assert_eq!(
            journaled, 0,
            "{}: not shipped before someone reads the log",
            app.backend
        );
        let usage = app
            .get(
                &format!("/api/v1/resources/{code}/usage"),
                &app.login("gaj-chief").await,
            )
            .await;
        assert_eq!(usage.status, StatusCode::OK, "{}", usage.json);
        assert_eq!(
            usage.json["items"][0]["calls"], 3,
            "{}: {}",
            app.backend, usage.json
        );
    }
}

#[tokio::test]
async fn the_queue_lists_every_duty_by_deadline_and_each_department_reads_only_its_own() {
    for app in TestApp::all(false).await {
        let code = loaded_entry(&app, ShareType::Conditional).await;
        let (mzj_staff, mzj_chief) = (app.login("mzj-staff").await, app.login("mzj-chief").await);
        let (gaj_chief, admin) = (app.login("gaj-chief").await, app.login("admin").await);
        let mut ids = Vec::new();
        for _ in 0..3 {
            let filed = app
                .post(
                    "/api/v1/share-requests",
                    &mzj_staff,
                    request(&code, &["full_name"]),
                )
                .await;
            assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.json);
            ids.push(filed.json["id"].as_i64().unwrap());
        }
        // The provider's queue, a page of two at a time, earliest due first.
        let first = app.get("/api/v1/tasks?limit=2", &gaj_chief).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.json);
        assert_eq!(first.json["total"], 3, "{}", first.json);
        let items = first.json["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let item = &items[0];
        assert_eq!(item["kind"], "department_decision");
        assert_eq!(item["title"], "部门受理审批");
        assert_eq!(item["department_id"], app.gaj.id);
        assert_eq!(item["entry_code"], code.as_str());
        let id = item["subject"]["id"].as_i64().unwrap();
        assert_eq!(item["subject"]["type"], "share_request");
        assert_eq!(item["href"], format!("/sharing#request-{id}"));
        assert!(
            item["countdown"]["text"]
                .as_str()
                .unwrap()
                .starts_with("剩余 "),
            "{item}"
        );
        let cursor = first.json["next"].as_str().expect("a second page");
        let second = app
            .get(
                &format!("/api/v1/tasks?limit=2&cursor={cursor}"),
                &gaj_chief,
            )
            .await;
        let rest = second.json["items"].as_array().unwrap();
        assert_eq!(rest.len(), 1, "{}", second.json);
        assert!(second.json["next"].is_null());
        let mut seen: Vec<i64> = items
            .iter()
            .chain(rest)
            .map(|d| d["subject"]["id"].as_i64().unwrap())
            .collect();
        let dues: Vec<&str> = items
            .iter()
            .chain(rest)
            .map(|d| d["due_date"].as_str().unwrap())
            .collect();
        assert!(
            dues.windows(2).all(|w| w[0] <= w[1]),
            "by deadline: {dues:?}"
        );
        seen.sort();
        assert_eq!(seen, ids, "each duty once across the pages");

        // A department reads its own queue only; the consumer owes nothing here.
        let own = app.get("/api/v1/tasks", &mzj_chief).await;
        assert_eq!(own.json["total"], 0, "{}", own.json);
        for other in [
            format!("/api/v1/tasks?department={}", app.gaj.id),
            "/api/v1/tasks?scope=all".into(),
        ] {
            error_of(&app.get(&other, &mzj_chief).await, StatusCode::FORBIDDEN);
        }
        // The bureau supervises: by department, by kind, by state.
        let bureau_own = app.get("/api/v1/tasks", &admin).await;
        assert_eq!(
            bureau_own.json["total"], 0,
            "the bureau owes none of these: {}",
            bureau_own.json
        );
        let by_department = app
            .get(&format!("/api/v1/tasks?department={}", app.gaj.id), &admin)
            .await;
        assert_eq!(by_department.json["total"], 3);
        let by_kind = app
            .get("/api/v1/tasks?scope=all&kind=need_response", &admin)
            .await;
        assert_eq!(by_kind.json["total"], 0);
        on_pool!(app.store, pool => {
            sqlx::query("UPDATE duties SET due_date = $1 WHERE subject_type = 'share_request' AND subject_id = $2")
                .bind(chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap())
                .bind(ids[1])
                .execute(pool).await.unwrap();
        });
        let overdue = app
            .get("/api/v1/tasks?scope=all&state=overdue", &admin)
            .await;
        assert_eq!(overdue.json["total"], 1, "{}", overdue.json);
        assert_eq!(overdue.json["items"][0]["subject"]["id"], ids[1]);
        assert_eq!(overdue.json["items"][0]["countdown"]["state"], "overdue");
        let first_due = app.get("/api/v1/tasks?limit=1", &gaj_chief).await;
        assert_eq!(
            first_due.json["items"][0]["subject"]["id"], ids[1],
            "the overdue one comes first"
        );

        // Deciding discharges the duty in the same step.
        let decided = app
            .post(
                &format!("/api/v1/share-requests/{}/decision", ids[0]),
                &gaj_chief,
                json!({"decision": "refuse", "reason": "申请用途与所需数据项不符，请补充依据"}),
            )
            .await;
        assert_eq!(decided.status, StatusCode::OK, "{}", decided.json);
        let open = app.get("/api/v1/tasks", &gaj_chief).await;
        assert_eq!(open.json["total"], 2);
        let done = app.get("/api/v1/tasks?state=done", &gaj_chief).await;
        assert!(
            done.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["subject"]["id"] == ids[0] && d["countdown"]["state"] == "done"),
            "{}",
            done.json
        );
        // A refusal puts coordination on the bureau's own queue.
        let bureau = app.get("/api/v1/tasks", &admin).await;
        assert!(
            bureau.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["kind"] == "coordination" && d["subject"]["id"] == ids[0]),
            "{}",
            bureau.json
        );

        // Each new duty reached its owner in the hall; each person keeps their own marks.
        let gaj_staff = app.login("gaj-staff").await;
        let unread = app
            .get("/api/v1/notifications?unread=true", &gaj_chief)
            .await;
        assert_eq!(unread.status, StatusCode::OK, "{}", unread.json);
        let announced: Vec<&Value> = unread.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| {
                n["kind"] == "duty_opened" && n["text"].as_str().unwrap().contains("部门受理审批")
            })
            .collect();
        assert_eq!(announced.len(), 3, "{}", unread.json);
        let first_id = announced[0]["id"].as_i64().unwrap();
        let marked = app
            .post(
                "/api/v1/notifications/read",
                &gaj_chief,
                json!({"ids": [first_id]}),
            )
            .await;
        assert_eq!(marked.json["marked"], 1, "{}", marked.json);
        let again = app
            .post(
                "/api/v1/notifications/read",
                &gaj_chief,
                json!({"ids": [first_id]}),
            )
            .await;
        assert_eq!(again.json["marked"], 0, "read once");
        let after = app
            .get("/api/v1/notifications?unread=true", &gaj_chief)
            .await;
        assert_eq!(
            after.json["total"].as_i64().unwrap(),
            unread.json["total"].as_i64().unwrap() - 1
        );
        let staff_unread = app
            .get("/api/v1/notifications?unread=true", &gaj_staff)
            .await;
        assert_eq!(
            staff_unread.json["total"], unread.json["total"],
            "the staff member's marks are their own"
        );
        let foreign = app
            .post(
                "/api/v1/notifications/read",
                &mzj_chief,
                json!({"ids": [first_id]}),
            )
            .await;
        assert_eq!(
            foreign.json["marked"], 0,
            "another department's notification is left alone"
        );
        error_of(
            &app.post(
                "/api/v1/notifications/read",
                &gaj_chief,
                json!({"ids": [first_id], "all": true}),
            )
            .await,
            StatusCode::BAD_REQUEST,
        );

        // 督办: the bureau urges an open duty; the owner sees the note on it and is notified.
        let urge = |id: i64, token: String, note: &'static str| {
            let app = &app;
            async move {
                app.post(
                    &format!("/api/v1/tasks/{id}/urge"),
                    &token,
                    json!({"note": note}),
                )
                .await
            }
        };
        let duty_of = |request: i64| {
            open.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["subject"]["id"] == request)
                .map(|d| d["id"].as_i64().unwrap())
                .unwrap()
        };
        let urged = urge(duty_of(ids[2]), admin.clone(), "请于本周内完成审核").await;
        assert_eq!(urged.status, StatusCode::CREATED, "{}", urged.json);
        assert_eq!(
            (
                urged.json["urgings"].as_i64(),
                urged.json["last_urging"].as_str()
            ),
            (Some(1), Some("请于本周内完成审核"))
        );
        let told = app
            .get("/api/v1/notifications?unread=true", &gaj_staff)
            .await;
        assert!(
            told.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "urged"
                    && n["text"].as_str().unwrap().contains("请于本周内完成审核")),
            "{}",
            told.json
        );
        // The consumer reads the request, not the bureau's note to the provider.
        let consumer_view = app
            .get(&format!("/api/v1/share-requests/{}", ids[2]), &mzj_chief)
            .await;
        assert_eq!(
            consumer_view.status,
            StatusCode::OK,
            "{}",
            consumer_view.json
        );
        assert!(
            consumer_view.json["duty"]["last_urging"].is_null(),
            "{}",
            consumer_view.json
        );
        assert_eq!(consumer_view.json["duty"]["urgings"], 0);
        error_of(
            &urge(duty_of(ids[2]), gaj_chief.clone(), "自己督办自己").await,
            StatusCode::FORBIDDEN,
        );
        error_of(
            &urge(duty_of(ids[2]), admin.clone(), "快").await,
            StatusCode::BAD_REQUEST,
        );
        error_of(
            &urge(987_654, admin.clone(), "请尽快办理").await,
            StatusCode::NOT_FOUND,
        );
        let done_duty = done.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["subject"]["id"] == ids[0])
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        error_of(
            &urge(done_duty, admin.clone(), "请尽快办理").await,
            StatusCode::CONFLICT,
        );

        // Bad filters are named, not ignored.
        for (query, field) in [("cursor=yesterday", "cursor"), ("limit=0", "limit")] {
            let bad = app.get(&format!("/api/v1/tasks?{query}"), &gaj_chief).await;
            assert_eq!(
                error_of(&bad, StatusCode::BAD_REQUEST)["details"][0]["field"],
                field,
                "{query}"
            );
        }
        error_of(
            &app.get("/api/v1/tasks?state=late", &gaj_chief).await,
            StatusCode::BAD_REQUEST,
        );
    }
}
