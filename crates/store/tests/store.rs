//! Every store behaviour, on SQLite and (when configured) PostgreSQL.

use datahall_store as store;

use domain::account::Role;
use domain::audit::Outcome;
use domain::deadline::DutyKind;
use domain::workflow::{Action, Status};
use store::audit::AuditFilter;
use store::resources::{ResourceQuery, Visibility};
use store::{on_pool, AuditContext, StoreError};
use testkit::{backends, fixtures::*};

fn ctx() -> AuditContext {
    AuditContext::system("test")
}

fn duty_query(filter: store::duties::DutyFilter) -> store::duties::DutyQuery {
    let today = domain::calendar::beijing_date(chrono::Utc::now());
    store::duties::DutyQuery {
        scope: domain::access::DutyScope::All,
        kind: None,
        filter,
        today,
        due_soon_until: today,
        after: None,
        limit: 100,
    }
}

/// Every open duty's kind and owing department, earliest due first.
async fn open_duties(store: &store::Store) -> Vec<(DutyKind, Option<i64>)> {
    let page = store
        .duties(&duty_query(store::duties::DutyFilter::Open))
        .await
        .unwrap();
    page.items
        .iter()
        .map(|d| (d.kind, d.department_id))
        .collect()
}

#[tokio::test]
async fn duplicate_department_is_a_conflict_and_changes_nothing() {
    for t in backends().await {
        let first = department(&t.store, "gaj", 1).await;
        assert_eq!(first.branch_no, 1, "{}", t.backend);
        let mut again = store::departments::NewDepartment {
            code: "gaj".into(),
            name: "另一个部门".into(),
            credit_code: credit_code(2),
            region_code: domain::ids::RegionCode::parse("341000").unwrap(),
            kind: domain::account::DepartmentKind::Social,
        };
        let err = t.store.create_department(&again, &ctx()).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{}: {err}",
            t.backend
        );
        again.code = "mzj".into();
        let second = t.store.create_department(&again, &ctx()).await.unwrap();
        assert_eq!(second.branch_no, 2, "{}", t.backend);
        assert_eq!(
            t.store.departments().await.unwrap().len(),
            2,
            "{}",
            t.backend
        );

        // Department numbers are the 项 of catalogue codes, 01–99: the 100th is refused
        // (it used to wrap, the 256th publishing under the numbers of the first).
        on_pool!(t.store, pool => {
            sqlx::query("UPDATE departments SET branch_no = 99 WHERE code = 'mzj'").execute(pool).await.unwrap();
        });
        again.code = "wjw".into();
        again.name = "第三个部门".into();
        again.credit_code = credit_code(3);
        let full = t.store.create_department(&again, &ctx()).await.unwrap_err();
        assert!(full.to_string().contains("已用尽"), "{}: {full}", t.backend);
        assert_eq!(
            t.store.departments().await.unwrap().len(),
            2,
            "{}",
            t.backend
        );
    }
}

#[tokio::test]
async fn one_chief_per_department() {
    for t in backends().await {
        let dept = department(&t.store, "gaj", 1).await;
        user(&t.store, "gaj-chief", Role::Chief, Some(dept.id)).await;
        let staff = user(&t.store, "gaj-staff", Role::Staff, Some(dept.id)).await;
        let err = t
            .store
            .set_role(&staff.username, Role::Chief, Some(dept.id), &ctx())
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(ref m) if m.contains("首席代表")),
            "{}: {err}",
            t.backend
        );
        let err = t
            .store
            .set_role(&staff.username, Role::Staff, None, &ctx())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Validation(_)), "{}", t.backend);
        assert_eq!(
            t.store.user_by_username("gaj-staff").await.unwrap().role,
            Role::Staff
        );
    }
}

#[tokio::test]
async fn workflow_publishes_and_keeps_versions() {
    for t in backends().await {
        let dept = department(&t.store, "gaj", 1).await;
        let staff = actor(&user(&t.store, "gaj-staff", Role::Staff, Some(dept.id)).await);
        let chief = actor(&user(&t.store, "gaj-chief", Role::Chief, Some(dept.id)).await);
        let admin = actor(&user(&t.store, "admin", Role::Admin, None).await);
        let created = t
            .store
            .create_resource(dept.id, &body("常住人口户籍信息"), &as_person(&staff))
            .await
            .unwrap();
        assert_eq!(created.code, "101001/000001", "{}", t.backend);
        assert_eq!(created.status, Status::Draft);
        let code = created.code.clone();

        let err = t
            .store
            .transition(&code, Action::Sign, None, &as_person(&chief))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Workflow(_)),
            "cannot sign a draft"
        );
        assert_eq!(open_duties(&t.store).await, [], "a draft owes nothing");
        t.store
            .transition(&code, Action::Submit, None, &as_person(&staff))
            .await
            .unwrap();
        let sign = [(DutyKind::SignEntry, Some(dept.id))];
        assert_eq!(open_duties(&t.store).await, sign, "{}", t.backend);
        let err = t
            .store
            .transition(&code, Action::Reject, Some(" "), &as_person(&chief))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Validation(_)),
            "rejection needs a reason"
        );
        let returned = t
            .store
            .transition(
                &code,
                Action::Reject,
                Some("摘要不完整"),
                &as_person(&chief),
            )
            .await
            .unwrap();
        assert_eq!(
            (returned.status, returned.return_reason.as_deref()),
            (Status::Returned, Some("摘要不完整"))
        );
        let revise = [(DutyKind::ReviseEntry, Some(dept.id))];
        assert_eq!(open_duties(&t.store).await, revise);
        t.store
            .transition(&code, Action::Submit, None, &as_person(&staff))
            .await
            .unwrap();
        assert_eq!(open_duties(&t.store).await, sign, "signing is owed again");
        t.store
            .transition(&code, Action::Sign, None, &as_person(&chief))
            .await
            .unwrap();
        let review = [(DutyKind::ReviewEntry, None)];
        assert_eq!(open_duties(&t.store).await, review, "the bureau reviews");
        let err = t
            .store
            .transition(&code, Action::Publish, None, &as_person(&chief))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Workflow(_)),
            "a chief cannot publish"
        );
        let published = t
            .store
            .transition(&code, Action::Publish, None, &as_person(&admin))
            .await
            .unwrap();
        assert_eq!(
            (published.status, published.published_version),
            (Status::Published, Some(1))
        );
        assert!(published.published_at.is_some());
        assert_eq!(
            open_duties(&t.store).await,
            [],
            "publishing ends the last duty"
        );
        let done = t
            .store
            .duties(&duty_query(store::duties::DutyFilter::Done))
            .await
            .unwrap();
        assert_eq!(
            done.total, 4,
            "sign, revise, sign, review: each discharged once"
        );
        assert!(done.items.iter().all(|d| d.subject
            == domain::duty::DutySubject::new(domain::duty::SubjectKind::Entry, created.id)
            && d.entry_code.as_deref() == Some(code.as_str())));

        let mut changed = published.body.clone();
        changed.summary = "新的摘要".into();
        let edited = t
            .store
            .update_resource(&code, &changed, &as_person(&staff))
            .await
            .unwrap();
        assert_eq!(
            (edited.status, edited.version, edited.code.as_str()),
            (Status::Draft, 2, code.as_str())
        );
        let mut reclassified = changed.clone();
        reclassified.class.subclass = 2;
        let err = t
            .store
            .update_resource(&code, &reclassified, &as_person(&staff))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Validation(_)),
            "codes never change"
        );
        for action in [Action::Submit, Action::Sign] {
            let who = if action == Action::Submit {
                &staff
            } else {
                &chief
            };
            t.store
                .transition(&code, action, None, &as_person(who))
                .await
                .unwrap();
        }
        t.store
            .transition(&code, Action::Publish, None, &as_person(&admin))
            .await
            .unwrap();
        let versions = t.store.resource_versions(created.id).await.unwrap();
        assert_eq!(
            versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            [2, 1],
            "{}",
            t.backend
        );
        let changes = domain::diff::diff(&versions[1].body, &versions[0].body);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "abstract");
    }
}

#[tokio::test]
async fn other_department_cannot_edit_and_nothing_changes() {
    for t in backends().await {
        let gaj = department(&t.store, "gaj", 1).await;
        let mzj = department(&t.store, "mzj", 2).await;
        let owner = actor(&user(&t.store, "gaj-staff", Role::Staff, Some(gaj.id)).await);
        let outsider = actor(&user(&t.store, "mzj-staff", Role::Staff, Some(mzj.id)).await);
        let created = t
            .store
            .create_resource(gaj.id, &body("人口信息"), &as_person(&owner))
            .await
            .unwrap();
        let mut changed = created.body.clone();
        changed.name = "被篡改".into();
        let err = t
            .store
            .update_resource(&created.code, &changed, &as_person(&outsider))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Workflow(_)), "{}", t.backend);
        assert_eq!(
            t.store.resource(&created.code).await.unwrap().body.name,
            "人口信息"
        );
        let err = t
            .store
            .create_resource(gaj.id, &body("x信息"), &as_person(&outsider))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Workflow(_)));
    }
}

#[tokio::test]
async fn searches_chinese_with_filters_visibility_and_paging() {
    for t in backends().await {
        let gaj = department(&t.store, "gaj", 1).await;
        let mzj = department(&t.store, "mzj", 2).await;
        let staff = actor(&user(&t.store, "gaj-staff", Role::Staff, Some(gaj.id)).await);
        for name in [
            "常住人口户籍信息",
            "流动人口登记信息",
            "户籍迁移记录",
            "机动车登记信息",
        ] {
            t.store
                .create_resource(gaj.id, &body(name), &as_person(&staff))
                .await
                .unwrap();
        }
        let query = |text: &str| ResourceQuery {
            text: Some(text.into()),
            limit: 10,
            ..Default::default()
        };
        let names = |page: store::resources::Page<store::resources::ResourceSummary>| {
            page.items.into_iter().map(|r| r.name).collect::<Vec<_>>()
        };
        let found = t
            .store
            .search_resources(&query("户籍"), Visibility::All)
            .await
            .unwrap();
        assert_eq!(found.total, 2, "{}", t.backend);
        assert_eq!(names(found), ["常住人口户籍信息", "户籍迁移记录"]);
        // Bigrams 人口 and 信息 are both in 常住人口户籍信息, but not as one substring.
        assert_eq!(
            names(
                t.store
                    .search_resources(&query("人口信息"), Visibility::All)
                    .await
                    .unwrap()
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            names(
                t.store
                    .search_resources(&query("机动车 登记"), Visibility::All)
                    .await
                    .unwrap()
            ),
            ["机动车登记信息"]
        );
        // Item names and the provider are searchable too; LIKE wildcards are literal.
        assert_eq!(
            t.store
                .search_resources(&query("身份号码"), Visibility::All)
                .await
                .unwrap()
                .total,
            4
        );
        assert_eq!(
            t.store
                .search_resources(&query("测试部门gaj"), Visibility::All)
                .await
                .unwrap()
                .total,
            4
        );
        assert_eq!(
            t.store
                .search_resources(&query("%"), Visibility::All)
                .await
                .unwrap()
                .total,
            0
        );
        // Drafts of one department are invisible to another's staff.
        let other = Visibility::PublishedAnd(Some(mzj.id));
        assert_eq!(
            t.store
                .search_resources(&query("户籍"), other)
                .await
                .unwrap()
                .total,
            0
        );
        let err = t
            .store
            .visible_resource("101001/000001", other)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)));
        // Paging by cursor visits every entry once.
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = t
                .store
                .search_resources(
                    &ResourceQuery {
                        after_code: after.clone(),
                        limit: 3,
                        ..Default::default()
                    },
                    Visibility::All,
                )
                .await
                .unwrap();
            assert_eq!(page.total, 4);
            seen.extend(page.items.into_iter().map(|r| r.code));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 4, "{}", t.backend);
        let filtered = ResourceQuery {
            status: Some(Status::Published),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            t.store
                .search_resources(&filtered, Visibility::All)
                .await
                .unwrap()
                .total,
            0
        );
    }
}

#[tokio::test]
async fn flags_items_whose_authoritative_source_is_another_department() {
    for t in backends().await {
        let gaj = department(&t.store, "gaj", 1).await;
        let mzj = department(&t.store, "mzj", 2).await;
        let gaj_staff = actor(&user(&t.store, "gaj-staff", Role::Staff, Some(gaj.id)).await);
        let gaj_chief = actor(&user(&t.store, "gaj-chief", Role::Chief, Some(gaj.id)).await);
        let admin = actor(&user(&t.store, "admin", Role::Admin, None).await);
        let mzj_staff = actor(&user(&t.store, "mzj-staff", Role::Staff, Some(mzj.id)).await);
        let mut source = body("人口基础信息");
        source.items[0].authoritative = true;
        let code = t
            .store
            .create_resource(gaj.id, &source, &as_person(&gaj_staff))
            .await
            .unwrap()
            .code;
        t.store
            .transition(&code, Action::Submit, None, &as_person(&gaj_staff))
            .await
            .unwrap();
        t.store
            .transition(&code, Action::Sign, None, &as_person(&gaj_chief))
            .await
            .unwrap();
        t.store
            .transition(&code, Action::Publish, None, &as_person(&admin))
            .await
            .unwrap();
        assert!(t.store.source_conflicts().await.unwrap().is_empty());
        t.store
            .create_resource(mzj.id, &body("低保对象信息"), &as_person(&mzj_staff))
            .await
            .unwrap();
        let conflicts = t.store.source_conflicts().await.unwrap();
        assert_eq!(conflicts.len(), 1, "{}", t.backend);
        assert_eq!(conflicts[0].item_name, "公民身份号码");
        assert_eq!(conflicts[0].authoritative_code, code);
    }
}

#[tokio::test]
async fn audit_chain_verifies_and_names_the_tampered_row() {
    for t in backends().await {
        let dept = department(&t.store, "gaj", 1).await;
        let staff = actor(&user(&t.store, "gaj-staff", Role::Staff, Some(dept.id)).await);
        t.store
            .create_resource(dept.id, &body("人口信息"), &as_person(&staff))
            .await
            .unwrap();
        t.store
            .audit(ctx().failure("resource.publish", "resource:x", Outcome::Denied, "无权"))
            .await
            .unwrap();
        let report = t.store.audit_verify().await.unwrap();
        assert!(report.intact, "{}: {report:?}", t.backend);
        assert_eq!(report.checked, 4);
        let (rows, total) = t
            .store
            .audit_list(
                &AuditFilter {
                    outcome: Some(Outcome::Denied),
                    ..Default::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!((total, rows[0].seq), (1, 4));
        // Personal data is masked in snapshots.
        let (users, _) = t
            .store
            .audit_list(
                &AuditFilter {
                    action: Some("user.create".into()),
                    ..Default::default()
                },
                10,
            )
            .await
            .unwrap();
        assert!(
            users[0].after_state.as_deref().unwrap().contains("张*"),
            "{:?}",
            users[0].after_state
        );

        // The database refuses changes; an attacker who removes the guard is caught.
        on_pool!(t.store, pool, dialect => {
            let refused = sqlx::query("UPDATE audit_log SET target = 'x' WHERE seq = 2").execute(pool).await;
            assert!(refused.is_err(), "append-only trigger");
            let disable = match dialect {
                store::Dialect::Sqlite => "DROP TRIGGER audit_log_no_update",
                store::Dialect::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
            };
            sqlx::query(disable).execute(pool).await.unwrap();
            sqlx::query("UPDATE audit_log SET target = 'department:forged' WHERE seq = 2").execute(pool).await.unwrap();
        });
        let report = t.store.audit_verify().await.unwrap();
        assert!(!report.intact);
        assert_eq!(
            report.first_broken_seq,
            Some(2),
            "{}: {report:?}",
            t.backend
        );
        assert_eq!(report.checked, 1);
    }
}

#[tokio::test]
async fn import_is_all_or_nothing() {
    for t in backends().await {
        let dept = department(&t.store, "gaj", 1).await;
        let good = body("人口信息");
        let mut bad = body("坏条目");
        bad.share.share_type = domain::catalogue::ShareType::NotShared;
        let err = t
            .store
            .import_resources(&[(dept.clone(), good.clone()), (dept.clone(), bad)], &ctx())
            .await
            .unwrap_err();
        match err {
            StoreError::Validation(e) => assert_eq!(e.0[0].field, "[1].share.legal_basis"),
            other => panic!("{other}"),
        }
        let all = ResourceQuery {
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            t.store
                .search_resources(&all, Visibility::All)
                .await
                .unwrap()
                .total,
            0,
            "{}",
            t.backend
        );
        let codes = t
            .store
            .import_resources(&[(dept.clone(), good.clone()), (dept, good)], &ctx())
            .await
            .unwrap();
        assert_eq!(codes, ["101001/000001", "101001/000002"]);
    }
}

#[tokio::test]
async fn publishing_creates_and_migrates_the_typed_data_table() {
    for t in backends().await {
        let dept = department(&t.store, "gaj", 1).await;
        let staff = actor(&user(&t.store, "gaj-staff", Role::Staff, Some(dept.id)).await);
        let chief = actor(&user(&t.store, "gaj-chief", Role::Chief, Some(dept.id)).await);
        let admin = actor(&user(&t.store, "admin", Role::Admin, None).await);
        let publish = |code: String| {
            let (store, staff, chief, admin) =
                (t.store.clone(), staff.clone(), chief.clone(), admin.clone());
            async move {
                store
                    .transition(&code, Action::Submit, None, &as_person(&staff))
                    .await?;
                store
                    .transition(&code, Action::Sign, None, &as_person(&chief))
                    .await?;
                store
                    .transition(&code, Action::Publish, None, &as_person(&admin))
                    .await
            }
        };
        let code = t
            .store
            .create_resource(dept.id, &body("人口信息"), &as_person(&staff))
            .await
            .unwrap()
            .code;
        publish(code.clone()).await.unwrap();
        let long_name = "a".repeat(80);
        on_pool!(t.store, pool => {
            sqlx::query("INSERT INTO data_101001_000001 (id_number, full_name, _batch_id) VALUES ($1, $2, 1)")
                .bind("11010519491231002X").bind("张三").execute(pool).await.unwrap();
            // Keys are enforced by the table itself.
            assert!(sqlx::query("INSERT INTO data_101001_000001 (id_number) VALUES ('11010519491231002X')").execute(pool).await.is_err());
        });

        // A new version adds an item and widens another: the table follows, rows stay.
        let mut revised = t.store.resource(&code).await.unwrap().body;
        revised.items[1].length = Some(100);
        let mut amount = revised.items[1].clone();
        amount.identifier = "amount".into();
        amount.name = "金额".into();
        amount.data_type = domain::catalogue::DataType::Integer;
        amount.length = None;
        revised.items.push(amount);
        t.store
            .update_resource(&code, &revised, &as_person(&staff))
            .await
            .unwrap();
        publish(code.clone()).await.unwrap();
        on_pool!(t.store, pool => {
            let (name, amount): (String, Option<i64>) = sqlx::query_as("SELECT full_name, amount FROM data_101001_000001")
                .fetch_one(pool).await.unwrap();
            assert_eq!((name.as_str(), amount), ("张三", None), "{}", t.backend);
            sqlx::query("INSERT INTO data_101001_000001 (id_number, full_name, amount) VALUES ($1, $2, 7)")
                .bind("110105194912310021").bind(&long_name).execute(pool).await
                .unwrap_or_else(|e| panic!("{}: widened column takes 80 characters: {e}", t.backend));
        });

        // A lossy change is refused at publishing, and nothing moves.
        let mut lossy = t.store.resource(&code).await.unwrap().body;
        lossy.items[1].data_type = domain::catalogue::DataType::Integer;
        lossy.items[1].length = None;
        t.store
            .update_resource(&code, &lossy, &as_person(&staff))
            .await
            .unwrap();
        t.store
            .transition(&code, Action::Submit, None, &as_person(&staff))
            .await
            .unwrap();
        t.store
            .transition(&code, Action::Sign, None, &as_person(&chief))
            .await
            .unwrap();
        let err = t
            .store
            .transition(&code, Action::Publish, None, &as_person(&admin))
            .await
            .unwrap_err();
        match err {
            StoreError::Validation(e) => assert!(e.0[0].message.contains("无法无损转换"), "{e}"),
            other => panic!("{}: {other}", t.backend),
        }
        let still = t.store.resource(&code).await.unwrap();
        assert_eq!(
            (still.status, still.published_version),
            (Status::Signed, Some(2))
        );
    }
}

#[tokio::test]
async fn batches_upsert_by_key_quarantine_and_apply_once() {
    use domain::catalogue::DataType;
    use domain::values::TypedValue;
    use store::batches::{AcceptedRow, RejectedRow};
    for t in backends().await {
        let dept = department(&t.store, "gaj", 1).await;
        let staff = actor(&user(&t.store, "gaj-staff", Role::Staff, Some(dept.id)).await);
        let chief = actor(&user(&t.store, "gaj-chief", Role::Chief, Some(dept.id)).await);
        let admin = actor(&user(&t.store, "admin", Role::Admin, None).await);
        let mut entry = body("人口信息");
        for (identifier, data_type, length) in [
            ("registered_on", DataType::Date, None),
            ("amount", DataType::Numeric, Some(16)),
            ("active", DataType::Logical, None),
        ] {
            let mut extra = item(identifier, identifier);
            extra.data_type = data_type;
            extra.length = length;
            entry.items.push(extra);
        }
        let code = t
            .store
            .create_resource(dept.id, &entry, &as_person(&staff))
            .await
            .unwrap()
            .code;
        let early = t
            .store
            .apply_batch(&code, "upload:x.csv", "h0", &[], &[], &ctx())
            .await
            .unwrap_err();
        assert!(
            matches!(early, StoreError::Conflict(_)),
            "unpublished entries take no data"
        );
        t.store
            .transition(&code, Action::Submit, None, &as_person(&staff))
            .await
            .unwrap();
        t.store
            .transition(&code, Action::Sign, None, &as_person(&chief))
            .await
            .unwrap();
        t.store
            .transition(&code, Action::Publish, None, &as_person(&admin))
            .await
            .unwrap();

        let date = chrono::NaiveDate::from_ymd_opt(2026, 2, 13).unwrap();
        let row = |line: u64, id: &str, name: &str, amount: &str| AcceptedRow {
            line,
            values: vec![
                TypedValue::Text(id.into()),
                TypedValue::Text(name.into()),
                TypedValue::Date(date),
                TypedValue::Decimal(amount.into()),
                TypedValue::Null,
            ],
        };
        let accepted = [
            row(2, "11010519491231002X", "张三", "12.50"),
            row(3, "110105194912310021", "李四", "3"),
            row(5, "11010519491231002X", "张三丰", "99.99"),
        ];
        let rejected = [RejectedRow {
            line: 4,
            column: Some("公民身份号码".into()),
            value: Some("110105********0022".into()),
            reason: "校验位错误".into(),
        }];
        let report = t
            .store
            .apply_batch(&code, "upload:x.csv", "h1", &accepted, &rejected, &ctx())
            .await
            .unwrap();
        assert_eq!(
            (
                report.rows_received,
                report.rows_accepted,
                report.rows_quarantined,
                report.duplicate_keys
            ),
            (4, 3, 1, 1),
            "{}",
            t.backend
        );
        let again = t
            .store
            .apply_batch(&code, "upload:x.csv", "h1", &accepted[..1], &[], &ctx())
            .await
            .unwrap();
        assert_eq!(again, report, "the same content applies once");
        on_pool!(t.store, pool => {
            let rows: Vec<(String, String, i64)> = sqlx::query_as("SELECT id_number, full_name, _batch_id FROM data_101001_000001 ORDER BY id_number")
                .fetch_all(pool).await.unwrap();
            assert_eq!(rows.len(), 2, "{}", t.backend);
            assert_eq!(rows[1].1, "张三丰", "the last row of a repeated key wins");
            assert_eq!(rows[0].2, report.id);
        });
        assert_eq!(t.store.quarantine(report.id).await.unwrap(), rejected);
        assert!(t.store.audit_verify().await.unwrap().intact);
    }
}

/// Creates and publishes the two-item entry of `fixtures::body` (公民身份号码 as key, 姓名).
async fn published_entry(t: &testkit::TestStore) -> String {
    testkit::fixtures::published_entry(&t.store, "gaj", 1, &body("人口信息")).await
}

async fn people(t: &testkit::TestStore) -> Vec<(String, String)> {
    on_pool!(t.store, pool => {
        sqlx::query_as("SELECT id_number, full_name FROM data_101001_000001 ORDER BY id_number")
            .fetch_all(pool).await.unwrap()
    })
}

#[tokio::test]
async fn a_batch_stays_invisible_until_it_finishes_and_an_interrupted_one_resumes() {
    use domain::values::TypedValue;
    use store::batch_writer::{BatchStart, Reconcile};
    use store::batches::AcceptedRow;
    let row = |line: u64, id: &str, name: &str| AcceptedRow {
        line,
        values: vec![TypedValue::Text(id.into()), TypedValue::Text(name.into())],
    };
    let (a, b, c) = (
        "11010519491231002X",
        "110105194912310021",
        "110105194912310048",
    );
    for t in backends().await {
        let code = published_entry(&t).await;
        t.store
            .apply_batch(
                &code,
                "upload",
                "first",
                &[row(2, a, "张三"), row(3, b, "李四")],
                &[],
                &ctx(),
            )
            .await
            .unwrap();

        // A writer that stages rows and is abandoned (the process dies) changes nothing.
        let BatchStart::Started(mut writer) = t
            .store
            .begin_batch(&code, "upload", Some("second"), &ctx())
            .await
            .unwrap()
        else {
            panic!("a new key starts a batch");
        };
        let interrupted = writer.batch_id();
        writer
            .write(&[row(2, a, "改名"), row(3, c, "王五")], &[])
            .await
            .unwrap();
        assert_eq!(people(&t).await.len(), 2, "staged rows are not visible");
        drop(writer);
        // The server notices the closed connection (and frees the batch's lock) shortly.
        let mut recovered = Vec::new();
        for _ in 0..100 {
            recovered = t.store.recover_interrupted_batches().await.unwrap();
            if !recovered.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(recovered, [interrupted], "{}", t.backend);
        let (failed, _) = t.store.batch(interrupted).await.unwrap();
        assert_eq!(failed.status, "failed");
        assert!(failed.error.unwrap().contains("续传"));
        assert_eq!(
            people(&t).await,
            [
                (b.to_string(), "李四".to_string()),
                (a.to_string(), "张三".to_string())
            ]
        );

        // The same content again resumes the failed batch under its id.
        let BatchStart::Started(mut writer) = t
            .store
            .begin_batch(&code, "upload", Some("second"), &ctx())
            .await
            .unwrap()
        else {
            panic!("a failed batch resumes");
        };
        assert_eq!(writer.batch_id(), interrupted);
        writer
            .write(&[row(2, a, "改名"), row(3, c, "王五")], &[])
            .await
            .unwrap();
        writer
            .delete(&[vec![TypedValue::Text(b.into())]])
            .await
            .unwrap();
        let report = writer.finish().await.unwrap();
        assert_eq!(
            (report.status.as_str(), report.attempts, report.rows_deleted),
            ("succeeded", 2, 1)
        );
        assert_eq!(
            people(&t).await,
            [
                (a.to_string(), "改名".to_string()),
                (c.to_string(), "王五".to_string())
            ]
        );

        // A full snapshot removes what the source no longer has.
        let BatchStart::Started(mut writer) = t
            .store
            .begin_batch(&code, "pull", None, &ctx())
            .await
            .unwrap()
        else {
            panic!("pulls always start");
        };
        writer.set_reconcile(Reconcile::AgainstRows);
        writer.write(&[row(1, c, "王五")], &[]).await.unwrap();
        let report = writer.finish().await.unwrap();
        assert_eq!(report.rows_deleted, 1, "{}", t.backend);
        assert_eq!(people(&t).await, [(c.to_string(), "王五".to_string())]);
        assert!(t.store.audit_verify().await.unwrap().intact);
    }
}

#[tokio::test]
async fn a_first_load_is_invisible_until_it_finishes_and_a_key_repeated_later_still_wins() {
    use domain::values::TypedValue;
    use store::batch_writer::BatchStart;
    use store::batches::AcceptedRow;
    let row = |line: u64, id: &str, name: &str| AcceptedRow {
        line,
        values: vec![TypedValue::Text(id.into()), TypedValue::Text(name.into())],
    };
    let (a, b, c) = (
        "11010519491231002X",
        "110105194912310021",
        "110105194912310048",
    );
    for t in backends().await {
        let code = published_entry(&t).await;
        let start = |key: &'static str| {
            let (store, code) = (t.store.clone(), code.clone());
            async move {
                match store.begin_batch(&code, "upload", Some(key), &ctx()).await {
                    Ok(BatchStart::Started(writer)) => writer,
                    _ => panic!("a new key starts a batch"),
                }
            }
        };
        // On PostgreSQL the rows of an empty entry's first load go straight into its
        // table: a writer that dies leaves nothing behind there either.
        let mut abandoned = start("abandoned").await;
        abandoned.write(&[row(2, a, "张三")], &[]).await.unwrap();
        assert!(people(&t).await.is_empty(), "{}", t.backend);
        drop(abandoned);
        for _ in 0..100 {
            if !t
                .store
                .recover_interrupted_batches()
                .await
                .unwrap()
                .is_empty()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(people(&t).await.is_empty(), "{}", t.backend);

        // A key repeated in a later chunk: the last line still wins and is counted.
        let mut writer = start("first").await;
        writer
            .write(&[row(2, a, "张三"), row(3, b, "李四")], &[])
            .await
            .unwrap();
        assert!(
            people(&t).await.is_empty(),
            "copied rows are not visible yet"
        );
        writer
            .write(&[row(4, a, "张三丰"), row(5, c, "王五")], &[])
            .await
            .unwrap();
        writer.write(&[row(6, c, "王五二")], &[]).await.unwrap();
        let report = writer.finish().await.unwrap();
        assert_eq!(
            (report.rows_accepted, report.duplicate_keys),
            (5, 2),
            "{}",
            t.backend
        );
        assert_eq!(
            people(&t).await,
            [
                (b.to_string(), "李四".to_string()),
                (a.to_string(), "张三丰".to_string()),
                (c.to_string(), "王五二".to_string())
            ],
            "{}",
            t.backend
        );
        let (data_rows, last_batch): (i64, i64) = on_pool!(t.store, pool => {
            sqlx::query_as("SELECT row_count, last_batch_id FROM resource_data")
                .fetch_one(pool).await.unwrap()
        });
        assert_eq!((data_rows, last_batch), (3, report.id));
        assert!(t.store.audit_verify().await.unwrap().intact);
    }
}

/// The data API's read cache: a revocation made through this store is seen at once; one
/// made elsewhere (another process on the same database, simulated here by SQL) is seen
/// within the cache's time to live, never later.
#[tokio::test]
async fn a_revoked_token_stops_working_at_once_here_and_within_the_ttl_elsewhere() {
    for t in backends().await {
        let department = department(&t.store, "gaj", 1).await;
        let token = |n: i64| format!("hash-{n}");
        for n in 0..2 {
            t.store
                .create_api_token(department.id, "系统", &token(n), "dhapp_x", None, &ctx())
                .await
                .unwrap();
            assert!(t
                .store
                .api_token_by_hash(&token(n))
                .await
                .unwrap()
                .is_some());
        }
        let first = t.store.api_token_by_hash(&token(0)).await.unwrap().unwrap();
        t.store.revoke_api_token(first.id, &ctx()).await.unwrap();
        assert!(
            t.store
                .api_token_by_hash(&token(0))
                .await
                .unwrap()
                .is_none(),
            "{}: revoked through this store",
            t.backend
        );

        on_pool!(t.store, pool => {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE token_hash = $2")
                .bind(chrono::Utc::now()).bind(token(1)).execute(pool).await.unwrap();
        });
        tokio::time::sleep(store::CACHE_TTL + std::time::Duration::from_millis(200)).await;
        assert!(
            t.store
                .api_token_by_hash(&token(1))
                .await
                .unwrap()
                .is_none(),
            "{}: revoked elsewhere, refused after the TTL",
            t.backend
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn key_lookups_answer_each_caller_under_its_own_filter_and_share_queries_on_postgres() {
    use domain::storage::ColumnType;
    use domain::values::TypedValue;
    use serde_json::Value;
    use store::data_access::{Column, RecordQuery};

    for t in backends().await {
        on_pool!(t.store, pool => {
            sqlx::query("CREATE TABLE lookup_people (region TEXT NOT NULL, seq BIGINT NOT NULL, name TEXT, born DATE, PRIMARY KEY (region, seq))")
                .execute(pool).await.unwrap();
            for region in ["341001", "341002"] {
                for seq in 1..=20i64 {
                    sqlx::query("INSERT INTO lookup_people (region, seq, name, born) VALUES ($1, $2, $3, $4)")
                        .bind(region).bind(seq).bind(format!("{region}-{seq}"))
                        .bind(chrono::NaiveDate::from_ymd_opt(1980, 1, seq as u32).unwrap())
                        .execute(pool).await.unwrap();
                }
            }
        });
        let column = |name: &str, column_type| Column {
            name: name.into(),
            column_type,
        };
        let unfiltered = RecordQuery {
            table: "lookup_people".into(),
            keys: vec![
                column("region", ColumnType::Text(Some(6))),
                column("seq", ColumnType::Integer),
            ],
            columns: vec![
                column("name", ColumnType::Text(None)),
                column("born", ColumnType::Date),
            ],
            filters: vec![],
            after: None,
            limit: 1,
        };
        // A grant that only sees region 341001.
        let filtered = RecordQuery {
            filters: vec![(
                column("region", ColumnType::Text(Some(6))),
                vec![TypedValue::Text("341001".into())],
            )],
            ..unfiltered.clone()
        };
        let before = t.store.coalesced_queries();
        let mut lookups = tokio::task::JoinSet::new();
        for n in 0..60i64 {
            let (store, query) = if n % 2 == 0 {
                (t.store.clone(), filtered.clone())
            } else {
                (t.store.clone(), unfiltered.clone())
            };
            let region = if n % 3 == 0 { "341002" } else { "341001" };
            // Keys 1–20 exist; 21–25 do not; 7 is asked for many times.
            let seq = if n % 10 == 0 { 7 } else { n % 25 + 1 };
            lookups.spawn(async move {
                let key = [TypedValue::Text(region.into()), TypedValue::Integer(seq)];
                let found = store.read_record(&query, &key).await.unwrap();
                (n, region, seq, found)
            });
        }
        let mut answered = 0;
        while let Some(joined) = lookups.join_next().await {
            let (n, region, seq, found) = joined.unwrap();
            let visible = seq <= 20 && (n % 2 == 1 || region == "341001");
            match found {
                Some((key, values)) => {
                    assert!(
                        visible,
                        "{}: lookup {n} ({region}, {seq}) must find nothing",
                        t.backend
                    );
                    assert_eq!(
                        key,
                        [Value::from(region), Value::from(seq)],
                        "{}",
                        t.backend
                    );
                    assert_eq!(
                        values,
                        [
                            Value::from(format!("{region}-{seq}")),
                            Value::from(format!("1980-01-{seq:02}"))
                        ],
                        "{}: lookup {n}",
                        t.backend
                    );
                }
                None => assert!(
                    !visible,
                    "{}: lookup {n} ({region}, {seq}) must find its row",
                    t.backend
                ),
            }
            answered += 1;
        }
        assert_eq!(answered, 60);
        let queries = t.store.coalesced_queries() - before;
        if t.backend == "postgres" {
            // Two shapes, at most four queries each running at once: far fewer than 60.
            assert!(
                (2..=8).contains(&queries),
                "{queries} queries for 60 lookups"
            );
        } else {
            assert_eq!(queries, 0, "SQLite reads each key on its own");
        }
    }
}

/// A row of the access log as a data call writes it, `minutes_ago` in the past.
fn access_record(n: i64, minutes_ago: i64) -> store::data_access::AccessRecord {
    store::data_access::AccessRecord {
        at: chrono::Utc::now() - chrono::Duration::minutes(minutes_ago),
        token_id: Some(1),
        department_id: Some(2),
        application: Some("低保审批系统".into()),
        resource_id: Some(1),
        endpoint: "record".into(),
        items: "id_number,full_name".into(),
        filter_shape: String::new(),
        row_count: 1,
        outcome: "ok".into(),
        status: 200,
        latency_us: 900,
        request_id: format!("request-{n}"),
        subjects: Vec::new(),
    }
}

/// What someone with the database's owner account (but not the platform's secret) does
/// first: drop or disable the guards of the logs.
async fn disable_guards(store: &store::Store) {
    on_pool!(store, pool, dialect => {
        match dialect {
            store::Dialect::Sqlite => {
                let triggers: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('audit_log', 'audit_head', 'access_log')")
                    .fetch_all(pool).await.unwrap();
                for trigger in triggers {
                    sqlx::query(&format!("DROP TRIGGER {trigger}")).execute(pool).await.unwrap();
                }
            }
            store::Dialect::Postgres => {
                for table in ["audit_log", "audit_head", "access_log"] {
                    sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER USER")).execute(pool).await.unwrap();
                }
            }
        }
    });
}

/// Build 4 of the trust issue: the database refuses rewriting either log; with its guards
/// removed, a deleted or recomputed tail is caught by the anchor of the last verification,
/// an altered or deleted access record by its seal and the checkpoints.
#[tokio::test]
async fn the_logs_cannot_be_rewritten_unnoticed() {
    for t in backends().await {
        let store = &t.store;
        for n in 0..4 {
            store
                .audit(ctx().event("resource.publish", format!("resource:{n}")))
                .await
                .unwrap();
        }
        let records: Vec<_> = (0..6).map(|n| access_record(n, 5)).collect();
        store.append_access_log(&records).await.unwrap();
        assert_eq!(store.checkpoint_access_log(&ctx()).await.unwrap(), 6);
        let first = store.verify_logs(None).await.unwrap();
        assert!(first.intact, "{}: {first:?}", t.backend);
        assert_eq!((first.access_checked, first.access_checkpointed), (6, 6));
        let anchor = first.anchor.clone().expect("a sealed anchor");

        // The database refuses: moving the head, deleting or changing either log, truncating.
        let mut refused = vec![
            "UPDATE audit_head SET seq = 1",
            "DELETE FROM audit_head",
            "DELETE FROM audit_log WHERE seq > 3",
            "UPDATE audit_log SET target = 'x' WHERE seq = 2",
            "DELETE FROM access_log WHERE id = 3",
            "UPDATE access_log SET row_count = 100 WHERE id = 3",
        ];
        if store.dialect() == store::Dialect::Postgres {
            refused.extend([
                "TRUNCATE audit_log",
                "TRUNCATE access_log",
                "TRUNCATE audit_head",
            ]);
        }
        for statement in refused {
            let outcome =
                on_pool!(store, pool => sqlx::query(statement).execute(pool).await.map(|_| ()));
            assert!(outcome.is_err(), "{}: {statement} was allowed", t.backend);
        }
        let again = store.verify_logs(Some(&anchor)).await.unwrap();
        assert!(again.intact, "{}: {again:?}", t.backend);

        // With the guards gone: an access record altered, one deleted.
        disable_guards(store).await;
        on_pool!(store, pool => {
            sqlx::query("UPDATE access_log SET row_count = 100 WHERE id = 3").execute(pool).await.unwrap();
        });
        let altered = store.verify_logs(Some(&anchor)).await.unwrap();
        assert!(!altered.intact, "{}", t.backend);
        assert!(
            altered
                .reason
                .as_deref()
                .unwrap()
                .contains("数据访问日志第3条的封印不符"),
            "{altered:?}"
        );
        on_pool!(store, pool => {
            sqlx::query("DELETE FROM access_log WHERE id = 3").execute(pool).await.unwrap();
        });
        let deleted = store.verify_logs(Some(&anchor)).await.unwrap();
        assert!(!deleted.intact, "{}", t.backend);
        assert!(
            deleted.reason.as_deref().unwrap().contains("检查点不一致"),
            "{deleted:?}"
        );

        // The audit log's tail deleted and the head set back: consistent in itself, so only
        // the anchor (kept outside the database) shows what is missing.
        let head = anchor.seq;
        on_pool!(store, pool => {
            sqlx::query("DELETE FROM audit_log WHERE seq > $1").bind(head - 2).execute(pool).await.unwrap();
            let hash: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1").bind(head - 2).fetch_one(pool).await.unwrap();
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2").bind(head - 2).bind(hash).execute(pool).await.unwrap();
        });
        let cut = store.verify_logs(Some(&anchor)).await.unwrap();
        assert!(!cut.intact, "{}", t.backend);
        assert!(
            cut.reason.as_deref().unwrap().contains("日志末尾被删除"),
            "{cut:?}"
        );

        // …and then written on, so that the chain is as long as before: the anchor's
        // record is no longer the one it sealed.
        for n in 0..3 {
            store
                .audit(ctx().event("resource.publish", format!("resource:forged-{n}")))
                .await
                .unwrap();
        }
        let rewritten = store.verify_logs(Some(&anchor)).await.unwrap();
        assert!(!rewritten.intact, "{}", t.backend);
        assert!(
            rewritten.reason.as_deref().unwrap().contains("日志被重算"),
            "{}: {rewritten:?}",
            t.backend
        );
        // A forged anchor (moved back by hand) does not carry the platform's seal.
        let mut forged = anchor.clone();
        forged.seq = head - 2;
        let refused = store.verify_logs(Some(&forged)).await.unwrap();
        assert!(!refused.intact);
        assert!(
            refused
                .reason
                .as_deref()
                .unwrap()
                .contains("锚点文件被改动"),
            "{refused:?}"
        );

        // Every seal stripped (so that a rewritten chain needs none): a chain the platform
        // sealed ends in a sealed record, with or without an anchor.
        on_pool!(store, pool => {
            sqlx::query("UPDATE audit_log SET seal = NULL").execute(pool).await.unwrap();
        });
        for anchor in [None, Some(&anchor)] {
            let stripped = store.verify_logs(anchor).await.unwrap();
            assert!(!stripped.intact, "{}: {stripped:?}", t.backend);
            assert!(
                stripped.reason.as_deref().unwrap().contains("未加封"),
                "{}: {stripped:?}",
                t.backend
            );
        }
    }
}

#[tokio::test]
async fn another_process_never_fails_a_live_batch_and_a_superseded_writer_publishes_nothing() {
    use domain::values::TypedValue;
    use store::batch_writer::BatchStart;
    use store::batches::AcceptedRow;
    let row = |line: u64, id: &str, name: &str| AcceptedRow {
        line,
        values: vec![TypedValue::Text(id.into()), TypedValue::Text(name.into())],
    };
    let a = "11010519491231002X";
    for t in backends().await {
        let code = published_entry(&t).await;
        // `datahall import` beside `datahall serve`: two stores on one database.
        let other = store::Store::connect(&t.url).await.unwrap();
        let BatchStart::Started(mut live) = t
            .store
            .begin_batch(&code, "upload", Some("live"), &ctx())
            .await
            .unwrap()
        else {
            panic!("a new key starts a batch");
        };
        live.write(&[row(2, a, "张三")], &[]).await.unwrap();
        assert_eq!(
            other.recover_interrupted_batches().await.unwrap(),
            Vec::<i64>::new(),
            "{}: the other process's batch is live",
            t.backend
        );
        let report = live.finish().await.unwrap();
        assert_eq!(report.status, "succeeded", "{}", t.backend);

        // A writer whose batch was failed and resumed elsewhere meanwhile (as a wrong
        // recovery would) publishes nothing: the batch applies once.
        let BatchStart::Started(mut superseded) = t
            .store
            .begin_batch(&code, "upload", Some("twice"), &ctx())
            .await
            .unwrap()
        else {
            panic!("a new key starts a batch");
        };
        superseded.write(&[row(2, a, "旧写入")], &[]).await.unwrap();
        let id = superseded.batch_id();
        on_pool!(other, pool => {
            sqlx::query("UPDATE batches SET attempts = attempts + 1 WHERE id = $1")
                .bind(id).execute(pool).await.unwrap();
        });
        let refused = superseded.finish().await.unwrap_err();
        assert!(
            refused.to_string().contains("作废"),
            "{}: {refused}",
            t.backend
        );
        assert_eq!(
            people(&t).await,
            [(a.to_string(), "张三".to_string())],
            "{}",
            t.backend
        );
        other.close().await;
    }
}

#[tokio::test]
async fn a_snapshot_that_replaces_every_key_is_a_mass_deletion_however_many_rows_it_brings() {
    use domain::values::TypedValue;
    use store::batch_writer::{BatchStart, Reconcile};
    use store::batches::AcceptedRow;
    let id = |n: u32| {
        domain::ids::IdCardNumber::parse(&format!("110105491231{n:03}"))
            .unwrap()
            .to_string()
    };
    let rows = |from: u32, to: u32| -> Vec<AcceptedRow> {
        (from..to)
            .map(|n| AcceptedRow {
                line: u64::from(n) + 2,
                values: vec![
                    TypedValue::Text(id(n)),
                    TypedValue::Text(format!("居民{n}")),
                ],
            })
            .collect()
    };
    for t in backends().await {
        let code = published_entry(&t).await;
        t.store
            .apply_batch(&code, "upload", "first", &rows(0, 20), &[], &ctx())
            .await
            .unwrap();
        // Twenty rows, none of them with a key the entry has: all twenty held rows would go.
        let BatchStart::Started(mut writer) = t
            .store
            .begin_batch(&code, "pull", None, &ctx())
            .await
            .unwrap()
        else {
            panic!("pulls always start");
        };
        writer.set_reconcile(Reconcile::AgainstRows);
        writer.write(&rows(100, 120), &[]).await.unwrap();
        let refused = writer.finish().await.unwrap_err();
        assert!(
            refused.to_string().contains("安全阈值"),
            "{}: {refused}",
            t.backend
        );
        assert_eq!(people(&t).await.len(), 20, "{}", t.backend);
    }
}

/// Opens a journal on `dir`.
async fn open_journal(
    dir: &std::path::Path,
    store: &store::Store,
    options: store::access_journal::JournalOptions,
) -> store::access_journal::Journal {
    store::access_journal::Journal::open(dir, store.clone(), options)
        .await
        .unwrap()
}

async fn journaled_rows(store: &store::Store, journal: i64) -> Vec<(i64, String)> {
    on_pool!(store, pool => {
        sqlx::query_as("SELECT journal_seq, request_id FROM access_log WHERE journal = $1 ORDER BY journal_seq")
            .bind(journal).fetch_all(pool).await.unwrap()
    })
}

/// Appends `bytes` to the journal segment in `dir` (as a crash mid-write would leave them);
/// returns the segment.
fn tear_segment(dir: &std::path::Path, bytes: &[u8]) -> std::path::PathBuf {
    let segment = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .expect("a segment");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap();
    std::io::Write::write_all(&mut file, bytes).unwrap();
    segment
}

/// Appends `records` concurrently; each returns once durable.
async fn append_all(
    journal: &store::access_journal::Journal,
    records: impl Iterator<Item = store::data_access::AccessRecord>,
) {
    let mut calls = tokio::task::JoinSet::new();
    for record in records {
        let journal = journal.clone();
        calls.spawn(async move { journal.append(record).await });
    }
    while let Some(outcome) = calls.join_next().await {
        outcome.unwrap().unwrap();
    }
}

/// Issue 12, item 7: the access log's local journal. Records acknowledged but not shipped
/// when the process stops reach the database at the next start, once each, with their
/// seals and places; a torn tail is dropped; a directory serves one process at a time; a
/// record changed in the file before shipping, or removed from it, is caught by verification.
#[tokio::test]
async fn journaled_access_records_reach_the_database_once_and_tampering_is_caught() {
    use store::access_journal::{JournalError, JournalOptions};
    let paused = JournalOptions {
        ship_every: std::time::Duration::from_secs(3600),
    };
    for t in backends().await {
        let store = &t.store;
        let dir = tempfile::tempdir().unwrap();

        // Forty calls acknowledged, none shipped yet; a second process is refused the
        // directory; then the process stops without shipping.
        let journal = open_journal(dir.path(), store, paused.clone()).await;
        let id = journal.id();
        append_all(&journal, (0..40).map(|n| access_record(n, 0))).await;
        assert_eq!(journal.backlog(), 40);
        assert!(journaled_rows(store, id).await.is_empty(), "{}", t.backend);
        let second =
            store::access_journal::Journal::open(dir.path(), store.clone(), paused.clone()).await;
        assert!(
            matches!(second, Err(JournalError::Locked(_))),
            "{}",
            t.backend
        );
        journal.stop().await;
        assert!(
            journal.append(access_record(99, 0)).await.is_err(),
            "stopped: refused"
        );

        // A crash mid-write leaves half a frame after the last acknowledged one.
        let segment = tear_segment(dir.path(), &[200, 1, 0, 0, 7, 7]);

        // The next start ships all forty, in order, and the journal goes on from 41.
        let journal = open_journal(dir.path(), store, JournalOptions::default()).await;
        assert_eq!(
            journal.id(),
            id,
            "one journal per directory, across restarts"
        );
        assert!(
            segment.with_extension("damaged").exists(),
            "the torn segment is kept aside"
        );
        let rows = journaled_rows(store, id).await;
        assert_eq!(rows.len(), 40, "{}", t.backend);
        assert!(rows
            .iter()
            .enumerate()
            .all(|(n, (seq, _))| *seq == n as i64 + 1));
        append_all(&journal, (40..50).map(|n| access_record(n, 0))).await;
        journal.settle(std::time::Duration::from_secs(10)).await;
        assert_eq!(journal.backlog(), 0);
        let rows = journaled_rows(store, id).await;
        assert_eq!(rows.last().map(|r| r.0), Some(50), "{}", t.backend);
        // Shipping again (an answer lost after its commit) stores nothing twice.
        let again: Vec<_> = (45..50)
            .map(|n| store::access_journal::JournaledRecord {
                seq: n + 1,
                seal: None,
                record: access_record(n, 0),
            })
            .collect();
        store.ship_journaled(id, &again).await.unwrap();
        assert_eq!(journaled_rows(store, id).await.len(), 50);
        let intact = store.verify_logs(None).await.unwrap();
        assert!(intact.intact, "{}: {intact:?}", t.backend);
        assert_eq!(intact.access_checked, 50);

        // Someone with the machine edits a record in the file before it is shipped (and
        // fixes its checksum): its seal no longer matches.
        journal.stop().await;
        let journaled = access_record(50, 0);
        let forged = store::access_journal::JournaledRecord {
            seq: 51,
            seal: store.seal(&journaled.journaled_seal_message(id, 51)),
            record: store::data_access::AccessRecord {
                row_count: 0,
                ..journaled
            },
        };
        store.ship_journaled(id, &[forged]).await.unwrap();
        let altered = store.verify_logs(None).await.unwrap();
        assert!(!altered.intact, "{}", t.backend);
        assert!(
            altered.reason.as_deref().unwrap().contains("封印不符"),
            "{altered:?}"
        );

        // Damage that is not a torn last group (here: an earlier segment) is a changed or
        // failing disk: the start refuses, and keeps the segment for whoever looks into it.
        let damaged_dir = tempfile::tempdir().unwrap();
        let earlier = open_journal(damaged_dir.path(), store, paused.clone()).await;
        append_all(&earlier, (0..3).map(|n| access_record(n, 0))).await;
        earlier.stop().await;
        let first = tear_segment(damaged_dir.path(), &[9, 9, 9]);
        std::fs::write(damaged_dir.path().join("00000000000000000099.seg"), b"").unwrap();
        let refused =
            store::access_journal::Journal::open(damaged_dir.path(), store.clone(), paused.clone())
                .await;
        assert!(
            matches!(refused, Err(JournalError::Damaged(_))),
            "{}",
            t.backend
        );
        assert!(first.with_extension("damaged").exists());

        // A journal that skips records, or repeats a number for another call (a copied
        // directory), ships nothing.
        let t2 = testkit::sqlite().await;
        let fresh = &t2.store;
        let numbered = |seq: i64, n: i64| {
            let record = access_record(n, 0);
            store::access_journal::JournaledRecord {
                seq,
                seal: fresh.seal(&record.journaled_seal_message(7, seq)),
                record,
            }
        };
        fresh
            .ship_journaled(7, &(1..=5).map(|n| numbered(n, n)).collect::<Vec<_>>())
            .await
            .unwrap();
        for wrong in [vec![numbered(7, 7)], vec![numbered(5, 99), numbered(6, 6)]] {
            let refused = fresh.ship_journaled(7, &wrong).await.unwrap_err();
            assert!(refused.to_string().contains("不接续或不一致"), "{refused}");
        }
        assert_eq!(journaled_rows(fresh, 7).await.len(), 5);
        // …and records removed from the database later (its guards dropped) are a gap.
        disable_guards(fresh).await;
        on_pool!(fresh, pool => {
            sqlx::query("DELETE FROM access_log WHERE journal_seq IN (3, 4)").execute(pool).await.unwrap();
        });
        let gap = fresh.verify_logs(None).await.unwrap();
        assert!(!gap.intact);
        assert!(
            gap.reason
                .as_deref()
                .unwrap()
                .contains("缺少本地日志 7 的 2 条记录"),
            "{gap:?}"
        );
    }
}

#[tokio::test]
async fn a_failing_source_owes_its_department_one_duty_until_a_pull_succeeds() {
    for t in backends().await {
        let code = published_entry(&t).await;
        let staff = t.store.user_by_username("gaj-staff").await.unwrap().actor();
        let dept = t.store.department_by_code("gaj").await.unwrap();
        let source = t
            .store
            .create_source(
                &code,
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
                &as_person(&staff),
            )
            .await
            .unwrap();
        let later = chrono::Utc::now() + chrono::Duration::hours(1);
        for _ in 0..2 {
            t.store
                .finish_source_run(source.id, later, Some("采集超时：源库 30 秒未响应"))
                .await
                .unwrap();
        }
        let failing = [(DutyKind::CollectionFailure, Some(dept.id))];
        assert_eq!(
            open_duties(&t.store).await,
            failing,
            "one duty for repeated failures ({})",
            t.backend
        );
        t.store
            .finish_source_run(source.id, later, None)
            .await
            .unwrap();
        assert_eq!(
            open_duties(&t.store).await,
            [],
            "a successful pull discharges it"
        );
        let done = t
            .store
            .duties(&duty_query(store::duties::DutyFilter::Done))
            .await
            .unwrap();
        let repaired: Vec<_> = done
            .items
            .iter()
            .filter(|d| d.kind == DutyKind::CollectionFailure)
            .collect();
        assert_eq!(repaired.len(), 1);
        assert_eq!(
            repaired[0].entry_code.as_deref(),
            Some(code.as_str()),
            "the queue names the entry"
        );
        // The duty's opening and its discharge are audited, once each.
        for action in ["source.failure", "source.recover"] {
            let filter = AuditFilter {
                action: Some(action.into()),
                ..Default::default()
            };
            let (rows, total) = t.store.audit_list(&filter, 10).await.unwrap();
            assert_eq!(total, 1, "{action}");
            assert_eq!(rows[0].target, format!("source:{}", source.id));
        }
    }
}

/// Duties are opened and discharged by `duties.rs` only (its macros, inside the caller's
/// transaction): capabilities writing the table by hand is how string subjects and kinds
/// outside their enum crept in (ARCHITECTURE.md, "Duties"). A tidy test: it reads the source.
#[test]
fn only_the_duties_module_writes_duties() {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("source directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    const WRITES: [&str; 3] = ["INSERT INTO duties", "UPDATE duties", "DELETE FROM duties"];
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in [
        "store", "server", "collect", "cli", "ingest", "domain", "testkit",
    ] {
        sources(&workspace.join(krate).join("src"), &mut files);
    }
    assert!(files.len() > 20, "the sources were found: {}", files.len());
    let found: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("store/src/duties.rs"))
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).expect("readable source");
            text.lines()
                .enumerate()
                .filter(|(_, line)| WRITES.iter().any(|w| line.contains(w)))
                .map(|(n, line)| format!("{}:{}: {}", file.display(), n + 1, line.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        found.is_empty(),
        "duties written outside store/src/duties.rs:\n{}",
        found.join("\n")
    );
}

/// Missed deadlines are recorded in chunks, each its own transaction; a backlog longer
/// than a chunk, with on-time duties among the late ones, is recorded whole and once.
#[tokio::test]
async fn a_backlog_of_missed_deadlines_is_recorded_whole_and_once() {
    for t in backends().await {
        let dept = department(&t.store, "gaj", 1).await;
        let today = domain::calendar::beijing_date(chrono::Utc::now());
        let at = |day: chrono::NaiveDate| day.and_hms_opt(2, 0, 0).unwrap().and_utc();
        let duties: Vec<store::duties::BenchmarkDuty> = (0..1300i64)
            .map(|n| {
                let due = today - chrono::Duration::days(30 + n % 50);
                // Every third done on time, every third late, every third still open.
                let done_at = match n % 3 {
                    0 => Some(at(due - chrono::Duration::days(1))),
                    1 => Some(at(due + chrono::Duration::days(2))),
                    _ => None,
                };
                store::duties::BenchmarkDuty {
                    kind: DutyKind::NeedResponse,
                    subject: domain::duty::DutySubject::new(domain::duty::SubjectKind::Need, n + 1),
                    department_id: Some(dept.id),
                    received_at: at(due - chrono::Duration::days(14)),
                    due_date: due,
                    done_at,
                }
            })
            .collect();
        t.store.fill_benchmark_duties(&duties).await.unwrap();
        let housekeeping = AuditContext::system("housekeeping");
        let late = duties
            .iter()
            .enumerate()
            .filter(|(n, _)| n % 3 != 0)
            .count() as u64;
        let now = chrono::Utc::now();
        assert_eq!(
            t.store
                .record_missed_duties(now, &housekeeping)
                .await
                .unwrap(),
            late,
            "{}",
            t.backend
        );
        assert_eq!(
            t.store
                .record_missed_duties(now, &housekeeping)
                .await
                .unwrap(),
            0,
            "recorded once"
        );
        let filter = AuditFilter {
            action: Some("duty.missed".into()),
            ..Default::default()
        };
        let (_, audited) = t.store.audit_list(&filter, 1).await.unwrap();
        assert_eq!(audited as u64, late, "each with its audit record");
    }
}
