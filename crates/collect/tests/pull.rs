//! Pulling from real department databases: MariaDB/MySQL and PostgreSQL source systems,
//! into the platform on SQLite and on PostgreSQL. Each source table is filled, pulled,
//! mutated (updates, inserts tying the watermark, rows committed late, soft and hard
//! deletes), pulled again and compared with the platform's table row by row.

use std::collections::BTreeMap;

use datahall_collect::pull::{define_source, run_pull, SourceDefinition};
use datahall_collect::scheduler::Scheduler;
use datahall_collect::secret::SecretKey;
use domain::ids::IdCardNumber;
use sqlx::{Connection, Executor};
use store::{on_pool, AuditContext, Store};

/// A source system under test.
struct SourceDb {
    kind: &'static str,
    url: String,
    _keep: Box<dyn std::any::Any>,
}

async fn source_systems() -> Vec<SourceDb> {
    let mut systems = Vec::new();
    if let Some(db) = testkit::mysql_database().await {
        systems.push(SourceDb {
            kind: "mysql",
            url: db.url.clone(),
            _keep: Box::new(db),
        });
    }
    if let Some(db) = testkit::postgres_database().await {
        systems.push(SourceDb {
            kind: "postgres",
            url: db.url.clone(),
            _keep: Box::new(db),
        });
    }
    systems
}

/// Runs statements on the source system.
async fn exec(db: &SourceDb, statements: &[String]) {
    match db.kind {
        "mysql" => {
            let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
            for s in statements {
                conn.execute(s.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
        }
        _ => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            for s in statements {
                conn.execute(s.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
        }
    }
}

/// The source system's table of residents, with an update time and a soft-delete flag.
fn people_table(db: &SourceDb) -> String {
    let timestamp = if db.kind == "mysql" {
        "DATETIME(6)"
    } else {
        "TIMESTAMP(6)"
    };
    format!(
        "CREATE TABLE people (id_number VARCHAR(18) PRIMARY KEY, full_name VARCHAR(50), \
         updated_at {timestamp} NOT NULL, deleted BOOLEAN NOT NULL DEFAULT FALSE)"
    )
}

/// `(id_number, full_name)` of the live (not deleted) source rows.
async fn source_rows(db: &SourceDb) -> Vec<(String, Option<String>)> {
    let sql = "SELECT id_number, full_name FROM people WHERE NOT deleted ORDER BY id_number";
    match db.kind {
        "mysql" => {
            let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
        }
        _ => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
        }
    }
}

async fn platform_rows(store: &Store, table: &str) -> Vec<(String, Option<String>)> {
    let sql = format!("SELECT id_number, full_name FROM {table} ORDER BY id_number");
    on_pool!(store, pool => sqlx::query_as(&sql).fetch_all(pool).await.unwrap())
}

fn id(n: u32) -> String {
    // Valid 18-digit numbers from legacy 15-digit ones.
    IdCardNumber::parse(&format!("110105491231{n:03}"))
        .unwrap()
        .to_string()
}

fn at(seconds: i64) -> String {
    (chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
        + chrono::Duration::seconds(seconds))
    .format("%Y-%m-%d %H:%M:%S")
    .to_string()
}

fn insert(n: u32, name: &str, seconds: i64) -> String {
    format!(
        "INSERT INTO people (id_number, full_name, updated_at, deleted) VALUES ('{}', '{name}', '{}', FALSE)",
        id(n),
        at(seconds)
    )
}

fn definition(name: &str, url: &str, mode: &str) -> SourceDefinition {
    SourceDefinition {
        name: name.into(),
        url: url.into(),
        query: "people".into(),
        mapping: BTreeMap::new(),
        mode: Some(mode.into()),
        change_column: Some("updated_at".into()),
        change_kind: None,
        overlap: Some(60),
        delete_column: Some("deleted".into()),
        reconcile_every: None,
    }
}

/// Checks `definition` against its source and saves it on `code`, as 公安局's staff.
async fn saved_source(
    store: &Store,
    key: &SecretKey,
    code: &str,
    body: &domain::catalogue::ResourceBody,
    definition: &SourceDefinition,
) -> store::sources::Source {
    let new = define_source(key, &local(), &body.items, definition)
        .await
        .unwrap();
    let staff = testkit::fixtures::person_ctx(store, "gaj-staff").await;
    store.create_source(code, &new, &staff).await.unwrap()
}

/// The test's source systems run on this machine: the pull tests allow loopback (the
/// policy itself is tested in `collect::network` and the server's trust tests).
fn local() -> datahall_collect::network::SourcePolicy {
    datahall_collect::network::SourcePolicy::parse(
        &["127.0.0.0/8".into(), "::1/128".into()],
        vec![],
    )
    .unwrap()
}

#[tokio::test]
async fn pulls_full_then_incremental_and_matches_the_source_row_by_row() {
    let key = SecretKey::from_base64(&SecretKey::generate()).unwrap();
    let ctx = AuditContext::system("test");
    for db in source_systems().await {
        for platform in testkit::backends().await {
            let label = format!("{} ← {}", platform.backend, db.kind);
            let store = &platform.store;
            let body = testkit::fixtures::body("常住人口信息");
            let code = testkit::fixtures::published_entry(store, "gaj", 1, &body).await;
            let table = "data_101001_000001";
            exec(
                &db,
                &[
                    people_table(&db),
                    insert(1, "张三", 0),
                    insert(2, "李四", 10),
                    insert(3, "王五", 20),
                ],
            )
            .await;

            // Wrong credentials are refused when the source is defined.
            let (scheme, rest) = db.url.split_once("://").unwrap();
            let host = rest.split_once('@').map_or(rest, |(_, host)| host);
            let wrong = format!("{scheme}://nobody:wrong@{host}");
            let refused = define_source(
                &key,
                &local(),
                &body.items,
                &definition("错误凭据", &wrong, "full"),
            )
            .await
            .unwrap_err();
            assert!(
                refused.to_string().contains("无法连接源库"),
                "{label}: {refused}"
            );
            assert!(
                !refused.to_string().contains("wrong@"),
                "no credentials in messages: {refused}"
            );

            let new = define_source(
                &key,
                &local(),
                &body.items,
                &definition("户籍库", &db.url, "incremental"),
            )
            .await
            .unwrap();
            assert!(
                !new.url_sealed.contains("127.0.0.1"),
                "credentials are sealed"
            );
            let source = store
                .create_source(
                    &code,
                    &new,
                    &testkit::fixtures::person_ctx(store, "gaj-staff").await,
                )
                .await
                .unwrap();
            let first = run_pull(store, &key, &local(), &source, &ctx)
                .await
                .unwrap();
            assert_eq!((first.rows_accepted, first.rows_deleted), (3, 0), "{label}");
            assert_eq!(
                platform_rows(store, table).await,
                source_rows(&db).await,
                "{label}: first pull"
            );
            let source = store.source(source.id).await.unwrap();
            assert_eq!(
                source.watermark.as_deref(),
                Some("2026-03-01 08:00:20.000000"),
                "{label}"
            );

            // An update, a row tying the watermark, a row committed late (older than the
            // watermark, within the overlap), a soft delete.
            exec(&db, &[
                format!("UPDATE people SET full_name = '张三（更名）', updated_at = '{}' WHERE id_number = '{}'", at(30), id(1)),
                insert(4, "赵六", 20),
                insert(5, "钱七", 5),
                format!("UPDATE people SET deleted = TRUE, updated_at = '{}' WHERE id_number = '{}'", at(30), id(2)),
            ]).await;
            let second = run_pull(store, &key, &local(), &source, &ctx)
                .await
                .unwrap();
            assert_eq!(second.rows_deleted, 1, "{label}: the soft delete");
            assert_eq!(
                platform_rows(store, table).await,
                source_rows(&db).await,
                "{label}: incremental pull"
            );
            assert!(
                second.rows_received < 6,
                "{label}: incremental reads a window, not everything: {second:?}"
            );

            // A hard delete is found by a full pull (a snapshot).
            exec(
                &db,
                &[format!("DELETE FROM people WHERE id_number = '{}'", id(3))],
            )
            .await;
            let snapshot = define_source(
                &key,
                &local(),
                &body.items,
                &definition("户籍库全量", &db.url, "full"),
            )
            .await
            .unwrap();
            let snapshot = store
                .create_source(
                    &code,
                    &snapshot,
                    &testkit::fixtures::person_ctx(store, "gaj-staff").await,
                )
                .await
                .unwrap();
            let third = run_pull(store, &key, &local(), &snapshot, &ctx)
                .await
                .unwrap();
            assert_eq!(third.rows_deleted, 1, "{label}: the hard delete");
            assert_eq!(
                platform_rows(store, table).await,
                source_rows(&db).await,
                "{label}: full pull"
            );

            // The source's schema changes: a clear error, the data stays, the failure is
            // recorded with a retry.
            let before = platform_rows(store, table).await;
            let rename = match db.kind {
                "mysql" => "ALTER TABLE people CHANGE full_name name_cn VARCHAR(50)",
                _ => "ALTER TABLE people RENAME COLUMN full_name TO name_cn",
            };
            exec(&db, &[rename.to_string()]).await;
            let scheduler = Scheduler::new(store.clone(), key.clone(), local());
            let source = store.source(source.id).await.unwrap();
            let changed = run_pull(store, &key, &local(), &source, &ctx)
                .await
                .unwrap_err();
            assert!(
                changed.to_string().contains("源表结构已变化"),
                "{label}: {changed}"
            );
            scheduler.run_source(&source).await.unwrap();
            let failed = store.source(source.id).await.unwrap();
            assert_eq!(failed.failures, 1, "{label}");
            assert!(failed.last_error.unwrap().contains("full_name"));
            assert!(
                failed.next_run_at > chrono::Utc::now(),
                "{label}: retried later"
            );
            assert_eq!(
                platform_rows(store, table).await,
                before,
                "{label}: data intact"
            );
            assert!(store.audit_verify().await.unwrap().intact);
            exec(&db, &["DROP TABLE people".to_string()]).await;
        }
    }
}

#[tokio::test]
async fn a_source_that_goes_away_mid_pull_leaves_the_previous_data_and_a_failed_batch() {
    let key = SecretKey::from_base64(&SecretKey::generate()).unwrap();
    let ctx = AuditContext::system("test");
    for db in source_systems().await {
        for platform in testkit::backends().await {
            let label = format!("{} ← {}", platform.backend, db.kind);
            let store = &platform.store;
            let body = testkit::fixtures::body("常住人口信息");
            let code = testkit::fixtures::published_entry(store, "gaj", 1, &body).await;
            let mut statements = vec![people_table(&db)];
            let values: Vec<String> = (1..=400)
                .map(|n| format!("('{}', '居民{n}', '{}', FALSE)", id(n), at(n as i64)))
                .collect();
            statements.push(format!("INSERT INTO people VALUES {}", values.join(", ")));
            exec(&db, &statements).await;
            let fast = define_source(
                &key,
                &local(),
                &body.items,
                &definition("户籍库", &db.url, "full"),
            )
            .await
            .unwrap();
            let fast = store
                .create_source(
                    &code,
                    &fast,
                    &testkit::fixtures::person_ctx(store, "gaj-staff").await,
                )
                .await
                .unwrap();
            run_pull(store, &key, &local(), &fast, &ctx).await.unwrap();
            let before = platform_rows(store, "data_101001_000001").await;
            assert_eq!(before.len(), 400, "{label}");

            // A slow query (a sleep per row) whose connection is killed while rows stream.
            let pause = if db.kind == "mysql" {
                "SLEEP(0.01 + 0 * LENGTH(p.id_number)) = 0"
            } else {
                "(p.id_number || pg_sleep(0.01)::text) IS NOT NULL"
            };
            let mut slow = definition("慢查询", &db.url, "full");
            slow.query = format!("SELECT p.* FROM people p WHERE {pause}");
            let slow = saved_source(store, &key, &code, &body, &slow).await;
            exec(
                &db,
                &["UPDATE people SET full_name = '不应出现'".to_string()],
            )
            .await;
            let killer = {
                let (kind, url) = (db.kind, db.url.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
                    if kind == "mysql" {
                        let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
                        let ids: Vec<i64> = sqlx::query_scalar("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(0.01 +%' AND INFO NOT LIKE '%PROCESSLIST%'")
                            .fetch_all(&mut conn).await.unwrap();
                        for id in &ids {
                            let _ = conn.execute(format!("KILL {id}").as_str()).await;
                        }
                        ids.len()
                    } else {
                        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                        let killed: Vec<bool> = sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(0.01)%' AND pid <> pg_backend_pid()")
                            .fetch_all(&mut conn).await.unwrap();
                        killed.len()
                    }
                })
            };
            let error = run_pull(store, &key, &local(), &slow, &ctx)
                .await
                .unwrap_err();
            assert_eq!(
                killer.await.unwrap(),
                1,
                "{label}: the pull was running when killed"
            );
            assert!(
                error.to_string().contains("读取源库中断"),
                "{label}: {error}"
            );
            assert_eq!(
                platform_rows(store, "data_101001_000001").await,
                before,
                "{label}: nothing half-applied"
            );
            let quality = store.recent_batches(fast.resource_id, 1).await.unwrap();
            assert_eq!(quality[0].status, "failed", "{label}");
            exec(&db, &["DROP TABLE people".to_string()]).await;
        }
    }
}

#[tokio::test]
async fn incremental_by_key_reconciles_hard_deletes_every_run() {
    let key = SecretKey::from_base64(&SecretKey::generate()).unwrap();
    let ctx = AuditContext::system("test");
    for db in source_systems().await {
        for platform in testkit::backends().await {
            let label = format!("{} ← {}", platform.backend, db.kind);
            let store = &platform.store;
            let body = testkit::fixtures::body("常住人口信息");
            let code = testkit::fixtures::published_entry(store, "gaj", 1, &body).await;
            exec(&db, &[
                "CREATE TABLE people (seq BIGINT PRIMARY KEY, id_number VARCHAR(18) NOT NULL, full_name VARCHAR(50), deleted BOOLEAN NOT NULL DEFAULT FALSE)".to_string(),
                format!("INSERT INTO people VALUES (1, '{}', '甲', FALSE), (2, '{}', '乙', FALSE)", id(1), id(2)),
            ]).await;
            let mut definition = definition("按序号增量", &db.url, "incremental");
            definition.change_column = Some("seq".into());
            definition.change_kind = Some("key".into());
            definition.overlap = Some(1);
            definition.delete_column = None;
            definition.reconcile_every = Some(1);
            let source = saved_source(store, &key, &code, &body, &definition).await;
            run_pull(store, &key, &local(), &source, &ctx)
                .await
                .unwrap();
            assert_eq!(
                store.source(source.id).await.unwrap().watermark.as_deref(),
                Some("2"),
                "{label}"
            );
            // A new row with a higher key, and a hard delete the key window cannot see.
            exec(
                &db,
                &[
                    format!("INSERT INTO people VALUES (3, '{}', '丙', FALSE)", id(3)),
                    "DELETE FROM people WHERE seq = 1".to_string(),
                ],
            )
            .await;
            let source = store.source(source.id).await.unwrap();
            let second = run_pull(store, &key, &local(), &source, &ctx)
                .await
                .unwrap();
            assert_eq!(
                (second.rows_received, second.rows_deleted),
                (2, 1),
                "{label}: rows 2–3 read, row 1 reconciled away"
            );
            assert_eq!(
                platform_rows(store, "data_101001_000001").await,
                source_rows(&db).await,
                "{label}"
            );
            exec(&db, &["DROP TABLE people".to_string()]).await;
        }
    }
}

#[tokio::test]
async fn a_due_source_is_claimed_by_one_process_only() {
    for platform in testkit::backends().await {
        let store = &platform.store;
        let body = testkit::fixtures::body("常住人口信息");
        let code = testkit::fixtures::published_entry(store, "gaj", 1, &body).await;
        let key = SecretKey::from_base64(&SecretKey::generate()).unwrap();
        let new = store::sources::NewSource {
            name: "户籍库".into(),
            kind: "postgres".into(),
            url_sealed: key.seal("postgres://nowhere/none"),
            url_display: "postgres://nowhere/none".into(),
            query: "people".into(),
            mapping: "{}".into(),
            mode: "full".into(),
            change_column: None,
            change_kind: None,
            overlap: 0,
            delete_column: None,
            reconcile_every: 0,
        };
        let source = store
            .create_source(
                &code,
                &new,
                &testkit::fixtures::person_ctx(store, "gaj-staff").await,
            )
            .await
            .unwrap();
        let now = chrono::Utc::now();
        let lease = now + chrono::Duration::hours(1);
        // Eight claimants at once, as eight serving processes would.
        let claims =
            futures_util::future::join_all((0..8).map(|_| store.claim_due_source(now, lease)))
                .await;
        let won: Vec<i64> = claims
            .into_iter()
            .filter_map(|c| c.unwrap())
            .map(|s| s.id)
            .collect();
        assert_eq!(won, [source.id], "{}: exactly one claim", platform.backend);
        assert!(
            store.claim_due_source(now, lease).await.unwrap().is_none(),
            "leased"
        );
        assert!(
            matches!(
                store.claim_source(source.id, now, lease).await,
                Err(store::StoreError::Conflict(_))
            ),
            "a person's run waits for the scheduled one"
        );
        assert!(
            store
                .claim_due_source(lease + chrono::Duration::seconds(1), lease)
                .await
                .unwrap()
                .is_some(),
            "the lease expires"
        );
    }
}

#[tokio::test]
async fn a_full_pull_keeps_rows_held_in_quarantine_and_stops_before_emptying_the_entry() {
    let key = SecretKey::from_base64(&SecretKey::generate()).unwrap();
    let ctx = AuditContext::system("test");
    for db in source_systems().await {
        for platform in testkit::backends().await {
            let label = format!("{} ← {}", platform.backend, db.kind);
            let store = &platform.store;
            let body = testkit::fixtures::body("常住人口信息");
            let code = testkit::fixtures::published_entry(store, "gaj", 1, &body).await;
            let table = "data_101001_000001";
            let values: Vec<String> = (1..=38)
                .map(|n| format!("('{}', '居民{n}')", id(n)))
                .collect();
            exec(
                &db,
                &[
                    "CREATE TABLE residents (id_number VARCHAR(18) PRIMARY KEY, full_name TEXT)"
                        .to_string(),
                    format!("INSERT INTO residents VALUES {}", values.join(", ")),
                ],
            )
            .await;
            let mut full = definition("户籍库全量", &db.url, "full");
            full.query = "residents".into();
            full.change_column = None;
            full.delete_column = None;
            let source = saved_source(store, &key, &code, &body, &full).await;
            let first = run_pull(store, &key, &local(), &source, &ctx)
                .await
                .unwrap();
            assert_eq!(first.rows_accepted, 38, "{label}");
            let before = platform_rows(store, table).await;

            // 14 names grow past the item's 50 characters: those rows are held back, and the
            // entry keeps their earlier copies instead of losing them.
            let long = "长".repeat(60);
            exec(
                &db,
                &[format!(
                    "UPDATE residents SET full_name = '{long}' WHERE id_number IN ({})",
                    (1..=14)
                        .map(|n| format!("'{}'", id(n)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )],
            )
            .await;
            let held = run_pull(store, &key, &local(), &source, &ctx)
                .await
                .unwrap();
            assert_eq!(
                (held.rows_accepted, held.rows_quarantined, held.rows_deleted),
                (24, 14, 0),
                "{label}: quarantined rows are not deletions"
            );
            assert_eq!(platform_rows(store, table).await, before, "{label}");

            // The source is emptied (a reload half-done, a wrong view): the pull stops, the
            // entry keeps all 38 rows, and the batch says why.
            exec(&db, &["DELETE FROM residents".to_string()]).await;
            let emptied = run_pull(store, &key, &local(), &source, &ctx)
                .await
                .unwrap_err();
            assert!(
                emptied.to_string().contains("超过 50% 的安全阈值"),
                "{label}: {emptied}"
            );
            assert_eq!(platform_rows(store, table).await, before, "{label}");
            let failed = store.recent_batches(source.resource_id, 1).await.unwrap();
            assert_eq!(failed[0].status, "failed", "{label}");

            // Most rows really went: a person confirms, and the pull deletes them.
            exec(
                &db,
                &[format!(
                    "INSERT INTO residents VALUES {}",
                    values[..10].join(", ")
                )],
            )
            .await;
            let confirmed = datahall_collect::pull::run_pull_with(
                store,
                &key,
                &local(),
                &source,
                &ctx,
                datahall_collect::pull::PullOptions {
                    confirm_mass_deletion: true,
                },
            )
            .await
            .unwrap();
            assert_eq!(
                (confirmed.rows_accepted, confirmed.rows_deleted),
                (10, 28),
                "{label}"
            );
            assert_eq!(platform_rows(store, table).await.len(), 10, "{label}");
            exec(&db, &["DROP TABLE residents".to_string()]).await;
        }
    }
}

#[tokio::test]
async fn an_incremental_pull_on_a_zoned_column_keeps_a_watermark_that_future_rows_cannot_push() {
    let key = SecretKey::from_base64(&SecretKey::generate()).unwrap();
    let ctx = AuditContext::system("test");
    // MariaDB's TIMESTAMP reads without a zone; the zoned column is PostgreSQL's.
    let Some(db) = testkit::postgres_database().await else {
        return; // testkit said loudly what it skipped.
    };
    let db = SourceDb {
        kind: "postgres",
        url: db.url.clone(),
        _keep: Box::new(db),
    };
    for platform in testkit::backends().await {
        let label = platform.backend;
        let store = &platform.store;
        let body = testkit::fixtures::body("常住人口信息");
        let code = testkit::fixtures::published_entry(store, "gaj", 1, &body).await;
        exec(&db, &[
            "CREATE TABLE people (id_number VARCHAR(18) PRIMARY KEY, full_name VARCHAR(50), updated_at TIMESTAMPTZ NOT NULL)".to_string(),
            format!("INSERT INTO people VALUES ('{}', '甲', now() - interval '1 hour'), ('{}', '乙', now() - interval '30 minutes')", id(1), id(2)),
        ]).await;
        let mut incremental = definition("户籍库增量", &db.url, "incremental");
        incremental.delete_column = None;
        let source = saved_source(store, &key, &code, &body, &incremental).await;
        run_pull(store, &key, &local(), &source, &ctx)
            .await
            .unwrap();
        let source = store.source(source.id).await.unwrap();
        let mark = source
            .watermark
            .clone()
            .expect("a zoned column sets a watermark");

        // A row dated decades ahead: read, but the watermark stops at the source's clock, so a
        // change made afterwards is still read by the next pull.
        exec(
            &db,
            &[format!(
                "INSERT INTO people VALUES ('{}', '丙', TIMESTAMPTZ '2099-06-01 00:00:00+08')",
                id(3)
            )],
        )
        .await;
        let second = run_pull(store, &key, &local(), &source, &ctx)
            .await
            .unwrap();
        assert_eq!(second.rows_received, 2, "{label}: the window after {mark}");
        let source = store.source(source.id).await.unwrap();
        let capped = source.watermark.clone().unwrap();
        assert!(
            capped.as_str() < "2099" && capped > mark,
            "{label}: {mark} → {capped}"
        );
        exec(
            &db,
            &[format!(
                "UPDATE people SET full_name = '甲（更名）', updated_at = now() WHERE id_number = '{}'",
                id(1)
            )],
        )
        .await;
        run_pull(store, &key, &local(), &source, &ctx)
            .await
            .unwrap();
        assert_eq!(
            platform_rows(store, "data_101001_000001").await,
            source_rows_all(&db).await,
            "{label}: the later change arrived"
        );
        exec(&db, &["DROP TABLE people".to_string()]).await;
    }
}

/// `(id_number, full_name)` of every source row of `people` (no soft-delete column).
async fn source_rows_all(db: &SourceDb) -> Vec<(String, Option<String>)> {
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query_as("SELECT id_number, full_name FROM people ORDER BY id_number")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_source_that_stops_answering_fails_its_pull_and_the_other_sources_still_run() {
    let key = SecretKey::from_base64(&SecretKey::generate()).unwrap();
    let mut quick = local();
    quick.timeouts.idle = std::time::Duration::from_secs(1);
    quick.timeouts.connect = std::time::Duration::from_secs(1);

    // A host that accepts the connection and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let _accepting = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let body = testkit::fixtures::body("常住人口信息");
    let started = std::time::Instant::now();
    let refused = define_source(
        &key,
        &quick,
        &body.items,
        &definition(
            "沉默",
            &format!("postgres://u:p@127.0.0.1:{silent_port}/db"),
            "full",
        ),
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("无法连接源库"), "{refused}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    for db in source_systems().await {
        for platform in testkit::backends().await {
            let label = format!("{} ← {}", platform.backend, db.kind);
            let store = &platform.store;
            let code = testkit::fixtures::published_entry(store, "gaj", 1, &body).await;
            let values: Vec<String> = (1..=400)
                .map(|n| format!("('{}', '居民{n}')", id(n)))
                .collect();
            exec(
                &db,
                &[
                    "CREATE TABLE quiet (id_number VARCHAR(18) PRIMARY KEY, full_name VARCHAR(50))"
                        .to_string(),
                    format!("INSERT INTO quiet VALUES {}", values[..1].join(", ")),
                    "CREATE TABLE steady (id_number VARCHAR(18) PRIMARY KEY, full_name VARCHAR(50))"
                        .to_string(),
                    format!("INSERT INTO steady VALUES {}", values.join(", ")),
                ],
            )
            .await;
            let staff = testkit::fixtures::person_ctx(store, "gaj-staff").await;
            let full = |name: &str, query: &str| {
                let mut source = definition(name, &db.url, "full");
                source.query = query.into();
                source.change_column = None;
                source.delete_column = None;
                source
            };
            let quiet = saved_source(store, &key, &code, &body, &full("停摆的源库", "quiet")).await;
            let steady =
                saved_source(store, &key, &code, &body, &full("正常的源库", "steady")).await;
            let pause = if db.kind == "mysql" {
                "SLEEP(0.02 + 0 * LENGTH(s.id_number)) = 0"
            } else {
                "(s.id_number || pg_sleep(0.02)::text) IS NOT NULL"
            };
            let slow_query = format!("SELECT s.* FROM steady s WHERE {pause}");
            let slow = full("很慢的源库", &slow_query);
            let slow = saved_source(store, &key, &code, &body, &slow).await;
            // The slow one runs on its own below.
            store
                .set_source_enabled(slow.id, false, &staff)
                .await
                .unwrap();

            // The quiet table is locked by another session: reading it waits forever.
            let locker = hold_table_lock(&db, "quiet").await;
            let mut scheduler = Scheduler::new(store.clone(), key.clone(), quick.clone());
            scheduler.pull_concurrency = 1;
            let ran = scheduler.run_due().await.unwrap();
            assert_eq!(ran, 2, "{label}");
            let quiet = store.source(quiet.id).await.unwrap();
            assert_eq!(quiet.failures, 1, "{label}");
            assert!(
                quiet
                    .last_error
                    .as_deref()
                    .unwrap_or("")
                    .contains("采集超时"),
                "{label}: {:?}",
                quiet.last_error
            );
            assert!(
                quiet.claimed_until.is_none(),
                "{label}: the claim is given back"
            );
            assert!(
                quiet.next_run_at > chrono::Utc::now(),
                "{label}: retried later"
            );
            let steady = store.source(steady.id).await.unwrap();
            assert!(
                steady.last_success_at.is_some() && steady.failures == 0,
                "{label}: {:?}",
                steady.last_error
            );
            let before = platform_rows(store, "data_101001_000001").await;
            assert_eq!(before.len(), 400, "{label}");
            drop(locker);

            // A source that answers, one row every 20 ms: the pull outlives its deadline,
            // is aborted, and its batch is failed with the data as it was.
            exec(
                &db,
                &["UPDATE steady SET full_name = '不应出现'".to_string()],
            )
            .await;
            let mut patient = Scheduler::new(store.clone(), key.clone(), local());
            patient.pull_deadline = std::time::Duration::from_secs(1);
            patient.run_source(&slow).await.unwrap();
            let slow = store.source(slow.id).await.unwrap();
            assert!(
                slow.last_error
                    .as_deref()
                    .unwrap_or("")
                    .contains("采集超时：本次抽取超过"),
                "{label}: {:?}",
                slow.last_error
            );
            let mut status = String::new();
            for _ in 0..100 {
                store.recover_interrupted_batches().await.unwrap();
                status = store.recent_batches(slow.resource_id, 1).await.unwrap()[0]
                    .status
                    .clone();
                if status == "failed" {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert_eq!(status, "failed", "{label}");
            assert_eq!(
                platform_rows(store, "data_101001_000001").await,
                before,
                "{label}"
            );
            exec(
                &db,
                &[
                    "DROP TABLE quiet".to_string(),
                    "DROP TABLE steady".to_string(),
                ],
            )
            .await;
        }
    }
}

/// A session holding an exclusive lock on `table` until dropped.
async fn hold_table_lock(db: &SourceDb, table: &str) -> Box<dyn std::any::Any + Send> {
    match db.kind {
        "mysql" => {
            let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
            conn.execute(format!("LOCK TABLES {table} WRITE").as_str())
                .await
                .unwrap();
            Box::new(conn)
        }
        _ => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            conn.execute(format!("BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE").as_str())
                .await
                .unwrap();
            Box::new(conn)
        }
    }
}
