//! A conditional-share entry of people, loaded with three records, and an application of
//! 民政局 to read it: what the sharing and trust tests start from.

use axum::http::StatusCode;
use domain::catalogue::{ResourceBody, ShareType};
use serde_json::{json, Value};
use testkit::fixtures;

use super::TestApp;

pub const A: &str = "11010519491231002X";
pub const B: &str = "110105194912310011";
pub const C: &str = "110105194912310046";

/// 常住人口信息: the ID number (key) and name are personal; the district is not.
pub fn people(share_type: ShareType) -> ResourceBody {
    let mut body = fixtures::body("常住人口信息");
    body.items[1].personal = true;
    let mut region = fixtures::item("户籍所在区", "region");
    region.length = Some(6);
    body.items.push(region);
    body.items.push(fixtures::item("宗教信仰", "religion"));
    body.items[3].share_type = Some(ShareType::NotShared);
    body.share.share_type = share_type;
    if share_type == ShareType::Conditional {
        body.share.conditions = Some("仅用于社会救助审核".into());
    }
    body
}

/// Publishes the entry and loads three people into it.
pub async fn loaded_entry(app: &TestApp, share_type: ShareType) -> String {
    let code = app.publish(&people(share_type)).await;
    let staff = app.login("gaj-staff").await;
    let pushed = app
        .post(
            &format!("/api/v1/resources/{code}/records"),
            &staff,
            json!({"batch_key": "load", "records": [
                {"id_number": A, "full_name": "张三", "region": "341002", "religion": "无"},
                {"id_number": B, "full_name": "李四", "region": "341003", "religion": "无"},
                {"id_number": C, "full_name": "王五", "region": "341002", "religion": "无"},
            ]}),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.json);
    code
}

/// An application token of 民政局.
pub async fn mzj_application(app: &TestApp, name: &str) -> String {
    let chief = app.login("mzj-chief").await;
    let created = app
        .post("/api/v1/tokens", &chief, json!({"application": name}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    created.json["token"].as_str().unwrap().to_string()
}

/// A Beijing date `days` from today.
pub fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

pub fn request(code: &str, items: &[&str]) -> Value {
    json!({"resource": code, "items": items, "purpose": "低保资格审核",
           "legal_basis": "《社会救助暂行办法》第十一条", "application": "低保审批系统",
           "valid_until": in_days(365)})
}
