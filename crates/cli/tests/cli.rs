//! The `datahall` binary as an operator uses it.

use std::process::{Command, Output};

fn datahall(database: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_datahall"));
    command
        .args(args)
        .arg("--database")
        .arg(database)
        .env("DATAHALL_LOG", "warn")
        // Each database's own anchor, beside it (never one shared by every test run).
        .env(
            "DATAHALL_AUDIT_ANCHOR_FILE",
            format!("{}.anchor", database.trim_start_matches("sqlite://")),
        )
        .env_remove("DATAHALL_PASSWORD");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("datahall runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn help_lists_every_subcommand() {
    let output = Command::new(env!("CARGO_BIN_EXE_datahall"))
        .arg("--help")
        .output()
        .unwrap();
    let help = stdout(&output);
    for command in [
        "serve",
        "migrate",
        "user",
        "token",
        "catalogue",
        "audit",
        "import",
        "calendar",
        "bench",
    ] {
        assert!(
            help.contains(command),
            "{command} missing from --help:\n{help}"
        );
    }
    let user_help = stdout(
        &Command::new(env!("CARGO_BIN_EXE_datahall"))
            .args(["user", "add", "--help"])
            .output()
            .unwrap(),
    );
    assert!(
        user_help.contains("DATAHALL_PASSWORD") && !user_help.contains("--password"),
        "passwords never on argv:\n{user_help}"
    );
}

#[test]
fn operator_adds_people_tokens_and_verifies_the_audit_chain() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("ops.db").display());
    assert!(datahall(&db, &["migrate"], &[]).status.success());

    let refused = datahall(
        &db,
        &[
            "user",
            "add",
            "--username",
            "admin",
            "--display-name",
            "王五",
            "--role",
            "admin",
        ],
        &[("DATAHALL_PASSWORD", "demo-password")],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("演示密码"),
        "{}",
        stderr(&refused)
    );
    let added = datahall(
        &db,
        &[
            "user",
            "add",
            "--username",
            "admin",
            "--display-name",
            "王五",
            "--role",
            "admin",
        ],
        &[("DATAHALL_PASSWORD", "a-long-real-password")],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let no_department = datahall(
        &db,
        &[
            "user",
            "add",
            "--username",
            "x-chief",
            "--display-name",
            "赵六",
            "--role",
            "chief",
        ],
        &[("DATAHALL_PASSWORD", "a-long-real-password")],
    );
    assert!(!no_department.status.success());

    let verified = datahall(&db, &["audit", "verify"], &[]);
    assert!(verified.status.success());
    assert!(
        stdout(&verified).contains("intact: 1 records"),
        "{}",
        stdout(&verified)
    );
    assert!(!stdout(&verified).contains("王五"));
    // The verification left its anchor and said so in the chain: the next one checks both.
    let again = datahall(&db, &["audit", "verify"], &[]);
    assert!(
        stdout(&again).contains("intact: 2 records"),
        "{}",
        stdout(&again)
    );
    // An anchor deleted (to pass a shortened log off as never verified) is noticed.
    let anchor = dir.path().join("ops.db.anchor");
    let kept = std::fs::read(&anchor).expect("the anchor beside the database");
    std::fs::remove_file(&anchor).unwrap();
    let missing = datahall(&db, &["audit", "verify"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stdout(&missing).contains("缺失"), "{}", stdout(&missing));
    std::fs::write(&anchor, kept).unwrap();

    // Someone edits the database behind the product's back.
    let path = dir.path().join("ops.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query("DROP TRIGGER audit_log_no_update")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'nobody' WHERE seq = 1")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let broken = datahall(&db, &["audit", "verify"], &[]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        stdout(&broken).contains("BROKEN at record 1"),
        "{}",
        stdout(&broken)
    );
}

#[test]
fn catalogue_exports_to_excel_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cat.db").display());
    assert!(datahall(&db, &["migrate"], &[]).status.success());
    let xlsx = dir.path().join("blank.xlsx");
    let output = datahall(
        &db,
        &[
            "catalogue",
            "export",
            "--xlsx",
            xlsx.to_str().unwrap(),
            "--blank",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        std::fs::read(&xlsx).unwrap().starts_with(b"PK"),
        "an XLSX is a zip"
    );
    let json = dir.path().join("catalogue.json");
    assert!(datahall(
        &db,
        &["catalogue", "export", "--json", json.to_str().unwrap()],
        &[]
    )
    .status
    .success());
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(file["format"], "datahall-catalogue/1");
    let neither = datahall(&db, &["catalogue", "export"], &[]);
    assert!(!neither.status.success());
}

#[test]
fn import_loads_a_csv_into_a_published_entry() {
    use domain::account::Role;
    use domain::workflow::Action;
    use testkit::fixtures;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("import.db").display());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = store::Store::connect(&db).await.unwrap();
        store.migrate().await.unwrap();
        let dept = fixtures::department(&store, "gaj", 1).await;
        let staff = fixtures::user(&store, "gaj-staff", Role::Staff, Some(dept.id))
            .await
            .actor();
        let chief = fixtures::user(&store, "gaj-chief", Role::Chief, Some(dept.id))
            .await
            .actor();
        let admin = fixtures::user(&store, "admin", Role::Admin, None)
            .await
            .actor();
        let code = store
            .create_resource(
                dept.id,
                &fixtures::body("人口信息"),
                &testkit::fixtures::as_person(&staff),
            )
            .await
            .unwrap()
            .code;
        store
            .transition(
                &code,
                Action::Submit,
                None,
                &testkit::fixtures::as_person(&staff),
            )
            .await
            .unwrap();
        store
            .transition(
                &code,
                Action::Sign,
                None,
                &testkit::fixtures::as_person(&chief),
            )
            .await
            .unwrap();
        store
            .transition(
                &code,
                Action::Publish,
                None,
                &testkit::fixtures::as_person(&admin),
            )
            .await
            .unwrap();
        store.close().await;
    });
    let id = domain::ids::IdCardNumber::parse("110105491231002")
        .unwrap()
        .to_string();
    let csv = dir.path().join("export.csv");
    let text = format!("公民身份号码,姓名\n{id},张三\n110105194912310021,李四\n");
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    std::fs::write(&csv, &gbk).unwrap();
    let output = datahall(
        &db,
        &[
            "import",
            "--resource",
            "101001/000001",
            csv.to_str().unwrap(),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("2 rows received, 1 accepted, 1 quarantined"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains("line 3") && stderr(&output).contains("110105********0021"),
        "{}",
        stderr(&output)
    );
    let unpublished = datahall(
        &db,
        &[
            "import",
            "--resource",
            "101001/000099",
            csv.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!unpublished.status.success());
}

/// `datahall bench collect` end to end on a small file and a MariaDB source table made by
/// the benchmark's own scripts: the benchmark the ratios come from keeps working
/// (it broke unnoticed when defining a source became the provider's staff's act).
#[test]
fn the_collection_benchmark_imports_and_pulls_a_small_table() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(source) = runtime.block_on(testkit::mysql_database()) else {
        return; // announced by testkit
    };
    let benches = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/collection");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    let generated = Command::new("python3")
        .arg(benches.join("gen_rows.py"))
        .args(["--rows", "2000"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let database = source.url.rsplit('/').next().unwrap();
    let loaded = Command::new("bash")
        .arg(benches.join("load_mariadb.sh"))
        .arg(&csv)
        .env("BENCH_MY_DB", database)
        .output()
        .unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let bench = Command::new(env!("CARGO_BIN_EXE_datahall"))
        .args(["bench", "collect", "--csv"])
        .arg(&csv)
        .args(["--mysql-url", &source.url])
        .env("DATAHALL_LOG", "warn")
        .env(
            "DATAHALL_BENCH_DATABASE",
            format!("sqlite://{}", dir.path().join("bench.db").display()),
        )
        .output()
        .unwrap();
    let printed = stdout(&bench);
    assert!(
        bench.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&bench.stderr)
    );
    for line in [
        "datahall import_sqlite rows=2000 ",
        "datahall pull_full_sqlite rows=2000 ",
        "datahall pull_incremental_sqlite rows=",
        "datahall pull_full_empty_sqlite rows=2000 ",
    ] {
        assert!(printed.contains(line), "{line} missing:\n{printed}");
    }
}
