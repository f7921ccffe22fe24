//! What the authorisation matrices share: the callers (the table's columns), their tokens,
//! and the run that compares every cell and checks that every refusal was audited.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::TestApp;

/// Who calls, in the order of the table's columns.
pub const CALLERS: [&str; 10] = [
    "anonymous",
    "forged",
    "admin",
    "auditor",
    "gaj-chief",
    "gaj-staff",
    "mzj-chief",
    "mzj-staff",
    "app:mzj",
    "app:gaj",
];

/// One row: a request and the status each caller must get.
pub type Row = (Method, String, Option<Value>, [StatusCode; 10]);

/// A token for every caller but the anonymous one: the people's sessions, an application
/// token of 民政局 and one of 公安局, and a forged token.
pub async fn tokens(app: &TestApp) -> HashMap<String, String> {
    let mut tokens = HashMap::new();
    for person in &CALLERS[2..8] {
        tokens.insert(person.to_string(), app.login(person).await);
    }
    for (department, chief) in [("mzj", "mzj-chief"), ("gaj", "gaj-chief")] {
        let created = app
            .post(
                "/api/v1/tokens",
                &tokens[chief],
                json!({"application": "低保审批系统"}),
            )
            .await;
        tokens.insert(
            format!("app:{department}"),
            created.json["token"].as_str().unwrap().to_string(),
        );
    }
    tokens.insert("forged".into(), "dhapp_0000000000000000000000000000".into());
    tokens
}

/// Calls every cell of `table` and asserts its status; every 401/403 must be in the audit
/// log as a failed authorisation.
pub async fn check(app: &TestApp, tokens: &HashMap<String, String>, table: &[Row]) {
    let denied_before = denied(app).await;
    let mut refusals = 0;
    let mut mismatches = Vec::new();
    for (method, path, body, expected) in table {
        for (caller, want) in CALLERS.iter().zip(expected) {
            let token = tokens.get(*caller).map(String::as_str);
            let got = app.call(method.clone(), path, token, body.clone()).await;
            if got.status != *want {
                mismatches.push(format!(
                    "{method} {path} as {caller}: expected {want}, got {} {}",
                    got.status, got.json
                ));
            }
            if matches!(got.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                refusals += 1;
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}:\n{}",
        app.backend,
        mismatches.join("\n")
    );
    assert_eq!(
        denied(app).await - denied_before,
        refusals,
        "every refusal is audited as a failed authorisation"
    );
}

/// Refusals in the audit log, counting each summary record's occurrences.
async fn denied(app: &TestApp) -> i64 {
    app.store.flush_denials().await.unwrap();
    store::on_pool!(app.store, pool => {
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(occurrences), 0) AS BIGINT) FROM audit_log WHERE outcome = 'denied'")
            .fetch_one(pool).await.unwrap()
    })
}
