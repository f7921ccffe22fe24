//! The Excel round trip through the API: export the template, fill it, import it.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{error_of, TestApp};
use testkit::fixtures;

fn upload(uri: &str, token: &str, bytes: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            datahall_server::catalogue::transfer::XLSX_TYPE,
        )
        .body(Body::from(bytes))
        .unwrap()
}

#[tokio::test]
async fn exported_template_filled_and_imported() {
    for app in TestApp::all(false).await {
        let code = app.published_entry("常住人口户籍信息").await;
        let staff = app.login("gaj-staff").await;
        let exported = app.get("/api/v1/catalogue/template.xlsx", &staff).await;
        assert_eq!(exported.status, StatusCode::OK);
        assert_eq!(
            exported.headers[header::CONTENT_TYPE],
            datahall_server::catalogue::transfer::XLSX_TYPE
        );

        // The department reads its export back and adds a new entry, as a clerk would in Excel.
        let read = ingest::read_template(&exported.bytes, app.gaj.branch_no as u8).unwrap();
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        assert_eq!(read.entries.len(), 1);
        assert_eq!(read.entries[0].code.as_deref(), Some(code.as_str()));
        let mut filled: Vec<ingest::TemplateEntry> = read
            .entries
            .into_iter()
            .map(|e| ingest::TemplateEntry {
                code: None,
                provider_name: "测试部门gaj".into(),
                status_label: String::new(),
                body: e.body,
            })
            .collect();
        let mut new_entry = fixtures::body("流动人口居住登记信息");
        new_entry.update_cycle = domain::catalogue::UpdateCycle::Weekly;
        filled.push(ingest::TemplateEntry {
            code: None,
            provider_name: "测试部门gaj".into(),
            status_label: String::new(),
            body: new_entry.clone(),
        });
        let bytes = ingest::write_template(&filled).unwrap();

        let imported = app
            .send(upload("/api/v1/catalogue/import.xlsx", &staff, bytes))
            .await;
        assert_eq!(
            imported.status,
            StatusCode::CREATED,
            "{}: {}",
            app.backend,
            imported.json
        );
        let codes = imported.json["imported"].as_array().unwrap();
        assert_eq!(codes.len(), 2);
        let second = app
            .get(
                &format!("/api/v1/resources/{}", codes[1].as_str().unwrap()),
                &staff,
            )
            .await;
        assert_eq!(
            second.json["body"],
            serde_json::to_value(&new_entry).unwrap()
        );
        assert_eq!(second.json["status"], "draft");
    }
}

#[tokio::test]
async fn template_with_errors_imports_nothing_unless_partial() {
    let app = TestApp::new(testkit::sqlite().await, false).await;
    let staff = app.login("gaj-staff").await;
    let good = fixtures::body("婚姻登记信息");
    let mut bad = fixtures::body("低保对象信息");
    bad.share.share_type = domain::catalogue::ShareType::Conditional;
    let entries: Vec<ingest::TemplateEntry> = [good, bad]
        .into_iter()
        .map(|body| ingest::TemplateEntry {
            code: None,
            provider_name: String::new(),
            status_label: String::new(),
            body,
        })
        .collect();
    let bytes = ingest::write_template(&entries).unwrap();

    let refused = app
        .send(upload(
            "/api/v1/catalogue/import.xlsx",
            &staff,
            bytes.clone(),
        ))
        .await;
    let error = error_of(&refused, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], "template_invalid");
    assert_eq!(
        error["details"][0]["field"], "目录!第3行!共享条件",
        "{}",
        refused.json
    );
    let all = app.get("/api/v1/resources", &staff).await;
    assert_eq!(all.json["total"], 0, "nothing imported");

    let partial = app
        .send(upload(
            "/api/v1/catalogue/import.xlsx?partial=true",
            &staff,
            bytes,
        ))
        .await;
    assert_eq!(partial.status, StatusCode::CREATED, "{}", partial.json);
    assert_eq!(
        (
            partial.json["imported"].as_array().unwrap().len(),
            partial.json["skipped"].as_i64()
        ),
        (1, Some(1))
    );
    assert_eq!(partial.json["problems"][0]["column"], "共享条件");

    let garbage = app
        .send(upload(
            "/api/v1/catalogue/import.xlsx",
            &staff,
            b"not a spreadsheet".to_vec(),
        ))
        .await;
    assert!(error_of(&garbage, StatusCode::BAD_REQUEST)["message"]
        .as_str()
        .unwrap()
        .contains("XLSX"));
    let huge = app
        .send(upload(
            "/api/v1/catalogue/import.xlsx",
            &staff,
            vec![0u8; datahall_server::UPLOAD_LIMIT + 1],
        ))
        .await;
    error_of(&huge, StatusCode::PAYLOAD_TOO_LARGE);
    let admin = app.login("admin").await;
    let entries = vec![ingest::TemplateEntry {
        code: None,
        provider_name: String::new(),
        status_label: String::new(),
        body: fixtures::body("x信息"),
    }];
    let no_department = app
        .send(upload(
            "/api/v1/catalogue/import.xlsx",
            &admin,
            ingest::write_template(&entries).unwrap(),
        ))
        .await;
    error_of(&no_department, StatusCode::FORBIDDEN);
}
