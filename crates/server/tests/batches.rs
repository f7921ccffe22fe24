//! Uploading a CSV export into a published entry.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{error_of, TestApp};
use domain::ids::IdCardNumber;

fn upload(uri: &str, token: &str, bytes: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(bytes))
        .unwrap()
}

#[tokio::test]
async fn gbk_csv_upload_upserts_good_rows_and_quarantines_bad_ones_once() {
    for app in TestApp::all(false).await {
        let code = app.published_entry("常住人口户籍信息").await;
        let staff = app.login("gaj-staff").await;
        // Valid 18-digit numbers, from legacy 15-digit ones.
        let first = IdCardNumber::parse("110105491231002").unwrap().to_string();
        let second = IdCardNumber::parse("110105491231003").unwrap().to_string();
        let csv =
            format!("公民身份号码,姓名\n{first},张三\n{second},李四\n110105194912310021,王五\n");
        let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
        let uri = format!("/api/v1/resources/{code}/batches");
        let response = app.send(upload(&uri, &staff, gbk.to_vec())).await;
        assert_eq!(
            response.status,
            StatusCode::CREATED,
            "{}: {}",
            app.backend,
            response.json
        );
        let batch = &response.json["batch"];
        assert_eq!(
            (
                batch["rows_received"].as_i64(),
                batch["rows_accepted"].as_i64(),
                batch["rows_quarantined"].as_i64()
            ),
            (Some(3), Some(2), Some(1))
        );
        let bad = &response.json["quarantine"][0];
        assert_eq!(
            (
                bad["line"].as_i64(),
                bad["column"].as_str(),
                bad["value"].as_str()
            ),
            (Some(4), Some("公民身份号码"), Some("110105********0021"))
        );

        let detail = app
            .get(&format!("/api/v1/batches/{}", batch["id"]), &staff)
            .await;
        assert_eq!(detail.status, StatusCode::OK, "{}", detail.json);
        let id_quality = &detail.json["items"][0];
        assert_eq!(
            (
                id_quality["identifier"].as_str(),
                id_quality["rule"].as_str(),
                id_quality["failed"].as_i64()
            ),
            (Some("id_number"), Some("id_card"), Some(1))
        );
        assert!((id_quality["pass_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(detail.json["items"][1]["pass_rate"], 1.0);
        let outsider = app.login("mzj-staff").await;
        error_of(
            &app.get(&format!("/api/v1/batches/{}", batch["id"]), &outsider)
                .await,
            StatusCode::FORBIDDEN,
        );
        let auditor = app.login("auditor").await;
        assert_eq!(
            app.get(&format!("/api/v1/batches/{}", batch["id"]), &auditor)
                .await
                .status,
            StatusCode::OK
        );

        let again = app.send(upload(&uri, &staff, gbk.to_vec())).await;
        assert_eq!(
            again.json["batch"]["id"], batch["id"],
            "the same file is applied once"
        );

        // The provider's application system may push through the same endpoint.
        let chief = app.login("gaj-chief").await;
        let token = app
            .post(
                "/api/v1/tokens",
                &chief,
                serde_json::json!({"application": "户籍业务系统"}),
            )
            .await;
        let secret = token.json["token"].as_str().unwrap().to_string();
        let pushed = app
            .send(upload(
                &uri,
                &secret,
                format!("公民身份号码,姓名\n{second},李四新\n").into_bytes(),
            ))
            .await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.json);
        assert_eq!(pushed.json["batch"]["rows_accepted"], 1);

        let other = app.login("mzj-staff").await;
        error_of(
            &app.send(upload(&uri, &other, gbk.to_vec())).await,
            StatusCode::FORBIDDEN,
        );
        let unknown = app
            .send(upload(
                &uri,
                &staff,
                "公民身份号码,年龄\n1,2\n".as_bytes().to_vec(),
            ))
            .await;
        assert!(error_of(&unknown, StatusCode::BAD_REQUEST)["message"]
            .as_str()
            .unwrap()
            .contains("年龄"));
        error_of(
            &app.send(upload(&uri, &staff, Vec::new())).await,
            StatusCode::BAD_REQUEST,
        );

        // An XLSX export, first sheet; a malformed row is quarantined with its Excel row.
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write_string(0, 0, "姓名").unwrap();
        sheet.write_string(0, 1, "公民身份号码").unwrap();
        sheet.write_string(1, 0, "张三（更正）").unwrap();
        sheet.write_string(1, 1, &first).unwrap();
        sheet.write_string(3, 1, "bad").unwrap();
        let xlsx = workbook.save_to_buffer().unwrap();
        let request = Request::builder()
            .method(Method::POST)
            .uri(&uri)
            .header(header::AUTHORIZATION, format!("Bearer {staff}"))
            .header(
                header::CONTENT_TYPE,
                datahall_server::catalogue::transfer::XLSX_TYPE,
            )
            .body(Body::from(xlsx))
            .unwrap();
        let sheet_batch = app.send(request).await;
        assert_eq!(
            sheet_batch.status,
            StatusCode::CREATED,
            "{}",
            sheet_batch.json
        );
        assert_eq!(
            (
                sheet_batch.json["batch"]["rows_accepted"].as_i64(),
                sheet_batch.json["quarantine"][0]["line"].as_i64()
            ),
            (Some(1), Some(4))
        );

        let draft = app
            .post(
                "/api/v1/resources",
                &staff,
                serde_json::to_value(testkit::fixtures::body("草稿信息")).unwrap(),
            )
            .await;
        let draft_uri = format!(
            "/api/v1/resources/{}/batches",
            draft.json["code"].as_str().unwrap()
        );
        error_of(
            &app.send(upload(&draft_uri, &staff, gbk.to_vec())).await,
            StatusCode::CONFLICT,
        );
    }
}

fn upload_as(uri: &str, token: &str, content_type: &str, bytes: Vec<u8>) -> Request<Body> {
    let mut request = upload(uri, token, bytes);
    request.headers_mut().insert(
        header::CONTENT_TYPE,
        content_type.parse().expect("a header value"),
    );
    request
}

#[tokio::test]
async fn mappings_are_remembered_sheets_chosen_pushes_keyed_and_limits_enforced() {
    for app in TestApp::all(false).await {
        let code = app.published_entry("常住人口户籍信息").await;
        let staff = app.login("gaj-staff").await;
        let id = |n: &str| IdCardNumber::parse(n).unwrap().to_string();
        let (a, b) = (id("110105491231002"), id("110105491231003"));
        let uri = format!("/api/v1/resources/{code}/batches");

        // A department's own column names, matched once and remembered.
        let export = format!("证件号码;名字;备注\n{a};张三;x\n");
        let unmapped = app
            .send(upload(&uri, &staff, export.clone().into_bytes()))
            .await;
        assert!(error_of(&unmapped, StatusCode::BAD_REQUEST)["message"]
            .as_str()
            .unwrap()
            .contains("证件号码"));
        let mapping = "证件号码=公民身份号码,名字=full_name,备注=-";
        let mapped = app
            .send(upload(
                &format!("{uri}?mapping={}", urlencode(mapping)),
                &staff,
                export.into_bytes(),
            ))
            .await;
        assert_eq!(
            mapped.status,
            StatusCode::CREATED,
            "{}: {}",
            app.backend,
            mapped.json
        );
        let next = app
            .send(upload(
                &uri,
                &staff,
                format!("证件号码;名字;备注\n{b};李四;y\n").into_bytes(),
            ))
            .await;
        assert_eq!(
            next.status,
            StatusCode::CREATED,
            "the mapping is remembered: {}",
            next.json
        );
        assert_eq!(next.json["batch"]["rows_accepted"], 1);

        // A header without rows starts no batch.
        let before = app
            .get(&format!("/api/v1/resources/{code}/quality"), &staff)
            .await;
        let header_only = app
            .send(upload(&uri, &staff, "公民身份号码,姓名\n".into()))
            .await;
        assert!(error_of(&header_only, StatusCode::BAD_REQUEST)["message"]
            .as_str()
            .unwrap()
            .contains("只有表头"));
        let after = app
            .get(&format!("/api/v1/resources/{code}/quality"), &staff)
            .await;
        assert_eq!(before.json["recent"], after.json["recent"]);

        // The named sheet of a workbook.
        let mut workbook = rust_xlsxwriter::Workbook::new();
        workbook
            .add_worksheet()
            .set_name("说明")
            .unwrap()
            .write_string(0, 0, "本表说明")
            .unwrap();
        let data = workbook.add_worksheet().set_name("数据").unwrap();
        data.write_string(0, 0, "公民身份号码").unwrap();
        data.write_string(0, 1, "姓名").unwrap();
        data.write_string(1, 0, &a).unwrap();
        data.write_string(1, 1, "张三（表二）").unwrap();
        let xlsx = workbook.save_to_buffer().unwrap();
        let xlsx_type = datahall_server::catalogue::transfer::XLSX_TYPE;
        let first_sheet = app
            .send(upload_as(&uri, &staff, xlsx_type, xlsx.clone()))
            .await;
        error_of(&first_sheet, StatusCode::BAD_REQUEST);
        let named = app
            .send(upload_as(
                &format!("{uri}?sheet={}", urlencode("数据")),
                &staff,
                xlsx_type,
                xlsx,
            ))
            .await;
        assert_eq!(named.status, StatusCode::CREATED, "{}", named.json);
        assert_eq!(named.json["batch"]["source"], "api:xlsx");

        // An application pushes rows; the same batch key applies once.
        let push_uri = format!("/api/v1/resources/{code}/records");
        let records = serde_json::json!({"batch_key": "sync-0001", "records": [
            {"id_number": a, "full_name": "张三（推送）"},
            {"id_number": "110105194912310021", "full_name": "坏号码"},
            {"id_number": b, "nickname": "未知字段"},
        ]});
        let pushed = app.post(&push_uri, &staff, records.clone()).await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.json);
        assert_eq!(
            (
                pushed.json["batch"]["rows_accepted"].as_i64(),
                pushed.json["batch"]["rows_quarantined"].as_i64()
            ),
            (Some(1), Some(2))
        );
        let repeated = app.post(&push_uri, &staff, records).await;
        assert_eq!(repeated.json["batch"]["id"], pushed.json["batch"]["id"]);
        error_of(
            &app.post(
                &push_uri,
                &staff,
                serde_json::json!({"batch_key": "k", "records": [], "extra": 1}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );

        // The entry's quality and the quarantine as a file for Excel.
        let quality = app
            .get(&format!("/api/v1/resources/{code}/quality"), &staff)
            .await;
        assert_eq!(quality.status, StatusCode::OK, "{}", quality.json);
        assert_eq!(quality.json["rows_quarantined"], 2);
        let id_rule = quality.json["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == "id_card")
            .unwrap();
        assert_eq!(id_rule["failed"], 1);
        let download = app
            .get(
                &format!(
                    "/api/v1/batches/{}/quarantine.csv",
                    pushed.json["batch"]["id"]
                ),
                &staff,
            )
            .await;
        assert_eq!(download.status, StatusCode::OK);
        let text = String::from_utf8(download.bytes.clone()).unwrap();
        assert!(text.starts_with("\u{feff}行号,信息项,值,原因"), "{text}");
        assert!(
            text.contains("110105********0021") && !text.contains("110105194912310021"),
            "{text}"
        );
        assert!(text.contains("nickname"), "{text}");

        // Over the upload limit: refused while streaming, nothing applied.
        let huge = format!(
            "公民身份号码,姓名\n{}",
            format!("{a},张三\n").repeat(60_000)
        );
        assert!(huge.len() > 1 << 20);
        error_of(
            &app.send(upload(&uri, &staff, huge.into_bytes())).await,
            StatusCode::PAYLOAD_TOO_LARGE,
        );
        let stats = app.get("/api/v1/stats/aggregation", &staff).await;
        assert_eq!(stats.status, StatusCode::OK, "{}", stats.json);
        let gaj = stats.json["departments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["department_id"] == app.gaj.id)
            .unwrap();
        assert_eq!(
            (
                gaj["entries_published"].as_i64(),
                gaj["entries_with_data"].as_i64(),
                gaj["rows"].as_i64()
            ),
            (Some(1), Some(1), Some(2))
        );
        assert_eq!(gaj["aggregation_rate"], 1.0);
        assert_eq!(stats.json["government"]["target"], 1.0);
        let last = app
            .get(&format!("/api/v1/resources/{code}/quality"), &staff)
            .await;
        assert_eq!(last.json["batches"], quality.json["batches"]);
    }
}

#[tokio::test]
async fn the_same_bytes_with_corrected_settings_are_a_new_batch_and_the_correction_is_remembered() {
    for app in TestApp::all(false).await {
        let code = app.published_entry("常住人口户籍信息").await;
        let staff = app.login("gaj-staff").await;
        let id = |n: &str| IdCardNumber::parse(n).unwrap().to_string();
        let (a, b) = (id("110105491231002"), id("110105491231003"));
        let uri = format!("/api/v1/resources/{code}/batches");
        let export = format!("证件号码,名字\n{a},张三\n").into_bytes();
        let with = |mapping: &str| format!("{uri}?mapping={}", urlencode(mapping));

        // Columns swapped by mistake: the name is not an ID number, so the row is held back.
        let wrong = app
            .send(upload(
                &with("证件号码=full_name,名字=公民身份号码"),
                &staff,
                export.clone(),
            ))
            .await;
        assert_eq!(
            wrong.status,
            StatusCode::CREATED,
            "{}: {}",
            app.backend,
            wrong.json
        );
        assert_eq!(wrong.json["batch"]["rows_accepted"], 0);

        let corrected = app
            .send(upload(
                &with("证件号码=公民身份号码,名字=full_name"),
                &staff,
                export.clone(),
            ))
            .await;
        assert_eq!(corrected.status, StatusCode::CREATED, "{}", corrected.json);
        assert_ne!(
            corrected.json["batch"]["id"], wrong.json["batch"]["id"],
            "{}: the corrected mapping is another batch: {} then {}",
            app.backend, wrong.json, corrected.json
        );
        assert_eq!(corrected.json["batch"]["rows_accepted"], 1);

        // The same bytes and settings again: the batch applied before.
        let again = app
            .send(upload(
                &with("证件号码=公民身份号码,名字=full_name"),
                &staff,
                export.clone(),
            ))
            .await;
        assert_eq!(again.json["batch"]["id"], corrected.json["batch"]["id"]);

        // The correction is what the entry remembers.
        let next = app
            .send(upload(
                &uri,
                &staff,
                format!("证件号码,名字\n{b},李四\n").into_bytes(),
            ))
            .await;
        assert_eq!(next.status, StatusCode::CREATED, "{}", next.json);
        assert_eq!(next.json["batch"]["rows_accepted"], 1);

        // Another delimiter read from the same bytes is another batch too.
        let semicolons = format!("证件号码;名字\n{b};李四\n").into_bytes();
        let guessed = app.send(upload(&uri, &staff, semicolons.clone())).await;
        let declared = app
            .send(upload(&format!("{uri}?delimiter=%3B"), &staff, semicolons))
            .await;
        assert_eq!(guessed.status, StatusCode::CREATED, "{}", guessed.json);
        assert_eq!(declared.status, StatusCode::CREATED, "{}", declared.json);
        assert_ne!(declared.json["batch"]["id"], guessed.json["batch"]["id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_pushes_is_told_to_retry_and_nothing_else_fails() {
    for app in TestApp::all(false).await {
        let code = app.published_entry("常住人口户籍信息").await;
        let staff = app.login("gaj-staff").await;
        let uri = format!("/api/v1/resources/{code}/records");
        let pushes = (0..200u32).map(|n| {
            let id = IdCardNumber::parse(&format!("110105491231{:03}", n % 1000))
                .unwrap()
                .to_string();
            let body = serde_json::json!({"batch_key": format!("flood-{n}"), "records": [{"id_number": id, "full_name": format!("居民{n}")}]});
            app.post(&uri, &staff, body)
        });
        let answers = futures_util::future::join_all(pushes).await;
        let applied = answers
            .iter()
            .filter(|a| a.status == StatusCode::CREATED)
            .count();
        let refused: Vec<_> = answers
            .iter()
            .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
            .collect();
        assert_eq!(
            applied + refused.len(),
            200,
            "{}: every push is applied or told to retry: {:?}",
            app.backend,
            answers
                .iter()
                .find(|a| ![StatusCode::CREATED, StatusCode::TOO_MANY_REQUESTS].contains(&a.status))
                .map(|a| (a.status, a.json.clone()))
        );
        assert!(
            applied >= 1 && !refused.is_empty(),
            "{}: {applied} applied",
            app.backend
        );
        let first = refused[0];
        assert!(first.headers.contains_key("retry-after"));
        assert!(
            error_of(first, StatusCode::TOO_MANY_REQUESTS)["message"]
                .as_str()
                .unwrap()
                .contains("正在归集的批次已达上限"),
            "{}",
            first.json
        );
        // Each applied push is there, and the platform still answers.
        let batches = app
            .get(&format!("/api/v1/resources/{code}/quality"), &staff)
            .await;
        assert_eq!(batches.status, StatusCode::OK, "{}", batches.json);
        let table = format!("data_{}", code.replace('/', "_"));
        let rows: i64 = store::on_pool!(app.store, pool => {
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(pool).await.unwrap()
        });
        assert_eq!(rows as usize, applied, "{}", app.backend);
    }
}

#[tokio::test]
async fn a_quarantine_of_many_pages_downloads_whole_and_in_file_order() {
    for app in TestApp::all(false).await {
        let code = app.published_entry("常住人口户籍信息").await;
        let staff = app.login("gaj-staff").await;
        // 12,001 rows with bad ID numbers: more than two pages of the download.
        let mut csv = String::from("公民身份号码,姓名\n");
        for n in 0..12_001 {
            csv.push_str(&format!("bad{n},居民{n}\n"));
        }
        let uploaded = app
            .send(upload(
                &format!("/api/v1/resources/{code}/batches"),
                &staff,
                csv.into_bytes(),
            ))
            .await;
        assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.json);
        assert_eq!(uploaded.json["batch"]["rows_quarantined"], 12_001);
        assert_eq!(uploaded.json["quarantine"].as_array().unwrap().len(), 100);
        let download = app
            .get(
                &format!(
                    "/api/v1/batches/{}/quarantine.csv",
                    uploaded.json["batch"]["id"]
                ),
                &staff,
            )
            .await;
        assert_eq!(download.status, StatusCode::OK);
        let text = String::from_utf8(download.bytes.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            12_002,
            "{}: a header and every row",
            app.backend
        );
        assert_eq!(text.matches('\u{feff}').count(), 1, "one byte-order mark");
        let numbers: Vec<u64> = lines[1..]
            .iter()
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "file order, no repeats"
        );
        assert_eq!((numbers[0], numbers[12_000]), (2, 12_002));
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_department_saves_a_source_without_showing_its_credentials_and_runs_it() {
    let Some(source_db) = testkit::mysql_database().await else {
        return;
    };
    use sqlx::Connection;
    let mut conn = sqlx::MySqlConnection::connect(&source_db.url)
        .await
        .unwrap();
    let first = IdCardNumber::parse("110105491231002").unwrap().to_string();
    for statement in [
        "CREATE TABLE hj (sfzh VARCHAR(18) PRIMARY KEY, xm VARCHAR(50))".to_string(),
        format!("INSERT INTO hj VALUES ('{first}', '张三')"),
    ] {
        sqlx::query(&statement).execute(&mut conn).await.unwrap();
    }
    // A password the source ignores for root on loopback is still never shown.
    let url = source_db.url.replacen("root@", "root:@", 1);
    for app in TestApp::all_with(false, common::allow_loopback_sources).await {
        let code = app.published_entry("常住人口户籍信息").await;
        let staff = app.login("gaj-staff").await;
        let uri = format!("/api/v1/resources/{code}/sources");
        let definition = serde_json::json!({"name": "户籍系统", "url": url, "query": "hj",
            "mapping": {"sfzh": "公民身份号码", "xm": "姓名"}});
        let outsider = app.login("mzj-staff").await;
        error_of(
            &app.post(&uri, &outsider, definition.clone()).await,
            StatusCode::FORBIDDEN,
        );
        let bad_scheme = serde_json::json!({"name": "x", "url": "oracle://db", "query": "hj"});
        error_of(
            &app.post(&uri, &staff, bad_scheme).await,
            StatusCode::BAD_REQUEST,
        );
        // An overlap past any calendar (it used to panic the scheduler at the first run).
        let mut endless = definition.clone();
        endless["mode"] = "incremental".into();
        endless["change_column"] = "gxsj".into();
        endless["overlap"] = serde_json::json!(i64::MAX);
        let refused = app.post(&uri, &staff, endless).await;
        assert!(
            error_of(&refused, StatusCode::BAD_REQUEST)["message"]
                .as_str()
                .unwrap()
                .contains("overlap（回读范围）应为 0–604800 秒"),
            "{}",
            refused.json
        );
        let created = app.post(&uri, &staff, definition).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
        assert!(created.json.get("url_sealed").is_none());
        let listed = app.get(&uri, &staff).await;
        assert_eq!(listed.json[0]["name"], "户籍系统");
        let id = created.json["id"].as_i64().unwrap();
        error_of(
            &app.post(
                &format!("/api/v1/sources/{id}/run"),
                &outsider,
                serde_json::json!({}),
            )
            .await,
            StatusCode::FORBIDDEN,
        );
        let ran = app
            .post(
                &format!("/api/v1/sources/{id}/run"),
                &staff,
                serde_json::json!({}),
            )
            .await;
        assert_eq!(ran.status, StatusCode::OK, "{}", ran.json);
        assert_eq!(
            (
                ran.json["rows_accepted"].as_i64(),
                ran.json["source"].as_str()
            ),
            (Some(1), Some("pull:户籍系统"))
        );
        let off = app
            .post(
                &format!("/api/v1/sources/{id}/enabled"),
                &staff,
                serde_json::json!({"enabled": false}),
            )
            .await;
        assert_eq!(off.json["enabled"], false);
    }
}
