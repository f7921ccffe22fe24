//! `datahall bench collect`: the collection benchmark. In an empty database it publishes
//! the benchmark entry (the 15 columns of `benches/collection/gen_rows.py`, each with its
//! validator), imports the CSV through the same path as uploads, and optionally pulls the
//! same data from a MariaDB table in full and then incrementally after 1 % updates. Prints
//! `datahall …` lines in the format of `benches/collection/baselines.sh`.

use std::path::PathBuf;
use std::time::Instant;

use collect::file::FileImport;
use collect::pull::SourceDefinition;
use collect::secret::SecretKey;
use domain::account::{DepartmentKind, Role};
use domain::catalogue::*;
use domain::code::{ClassKind, ResourceClass};
use domain::ids::{CreditCode, RegionCode};
use ingest::pipeline::FileFormat;
use store::departments::NewDepartment;
use store::users::NewUser;
use store::{AuditContext, Store};

#[derive(clap::Args)]
pub struct CollectArgs {
    /// The CSV made by benches/collection/gen_rows.py.
    #[arg(long)]
    csv: PathBuf,
    /// Also pull the MariaDB table `bench_people` (benches/collection/load_mariadb.sh).
    #[arg(long)]
    mysql_url: Option<String>,
}

/// An item of the benchmark entry: name, identifier, type, length, validation rule.
type Column = (
    &'static str,
    &'static str,
    DataType,
    Option<u32>,
    Option<&'static str>,
);

const COLUMNS: [Column; 15] = [
    (
        "身份证号",
        "SFZH",
        DataType::Char,
        Some(18),
        Some("id_card"),
    ),
    ("姓名", "XM", DataType::Char, Some(50), None),
    ("性别", "XB", DataType::Char, Some(1), Some("regex:[12]")),
    ("出生日期", "CSRQ", DataType::Date, None, Some("date")),
    (
        "民族",
        "MZ",
        DataType::Char,
        Some(2),
        Some("regex:[0-9]{2}"),
    ),
    ("户籍地址", "HJDZ", DataType::Char, Some(200), None),
    (
        "行政区划",
        "XZQH",
        DataType::Char,
        Some(6),
        Some("region_code"),
    ),
    ("手机号码", "SJHM", DataType::Char, Some(11), Some("mobile")),
    (
        "工作单位统一社会信用代码",
        "DWTYXYDM",
        DataType::Char,
        Some(18),
        Some("uscc"),
    ),
    ("月收入", "YSR", DataType::Numeric, Some(12), None),
    (
        "家庭人口",
        "JTRK",
        DataType::Integer,
        None,
        Some("range:1..20"),
    ),
    ("身高", "SG", DataType::Double, None, None),
    ("是否参保", "SFCB", DataType::Logical, None, None),
    ("登记时间", "DJSJ", DataType::DateTime, None, None),
    ("备注", "BZ", DataType::Char, Some(500), None),
];

fn body() -> ResourceBody {
    let items = COLUMNS
        .iter()
        .map(|(name, identifier, data_type, length, rule)| Item {
            name: (*name).into(),
            identifier: (*identifier).into(),
            data_type: *data_type,
            length: *length,
            required: *identifier == "SFZH",
            key: *identifier == "SFZH",
            code_table: None,
            rule: rule.map(|r| r.parse().expect("benchmark rules are valid")),
            security_grade: SecurityGrade::General,
            personal: ["SFZH", "XM", "SJHM", "HJDZ"].contains(identifier),
            share_type: None,
            authoritative: false,
            mask: None,
        })
        .collect();
    entry_body("人口基础信息（基准）", items, ShareType::Unconditional)
}

/// A benchmark entry: `items` under a basic class, shared on the platform.
pub(crate) fn entry_body(name: &str, items: Vec<Item>, share_type: ShareType) -> ResourceBody {
    ResourceBody {
        name: name.into(),
        class: ResourceClass {
            kind: ClassKind::Basic,
            subclass: 1,
            category: 1,
            detail: String::new(),
        },
        provider_unit: None,
        summary: "归集基准测试".into(),
        format: ResourceFormat {
            kind: FormatKind::Database,
            detail: String::new(),
        },
        items,
        share: ShareAttributes {
            share_type,
            conditions: (share_type == ShareType::Conditional).then(|| "基准测试".into()),
            legal_basis: None,
            mode: Some(ShareMode::Platform),
            mode_reason: None,
        },
        open: OpenAttributes::default(),
        update_cycle: UpdateCycle::Daily,
        related_codes: vec![],
        security_grade: SecurityGrade::General,
        extensions: Default::default(),
    }
}

/// Publishes `body` as 市公安局's entry in an empty database (with the people `staff`,
/// `chief` and `admin`); returns its code.
pub(crate) async fn publish_entry(
    store: &Store,
    body: &ResourceBody,
    ctx: &AuditContext,
) -> anyhow::Result<String> {
    let department = store
        .create_department(
            &NewDepartment {
                code: "gaj".into(),
                name: "市公安局".into(),
                credit_code: CreditCode::complete("11341000MB0000001")?,
                region_code: RegionCode::parse("341000")?,
                kind: DepartmentKind::Government,
            },
            ctx,
        )
        .await?;
    let hash = server::auth::hash_password_blocking("bench-password-not-for-use")
        .map_err(|e| anyhow::anyhow!(e.message()))?;
    let mut actors = Vec::new();
    for (username, role, department_id) in [
        ("staff", Role::Staff, Some(department.id)),
        ("chief", Role::Chief, Some(department.id)),
        ("admin", Role::Admin, None),
    ] {
        let user = store
            .create_user(
                &NewUser {
                    username: username.into(),
                    display_name: "基准".into(),
                    role,
                    department_id,
                    password_hash: hash.clone(),
                },
                ctx,
            )
            .await?;
        actors.push(user.actor());
    }
    let code = store
        .create_resource(department.id, body, &crate::demo::as_person(&actors[0]))
        .await?
        .code;
    use domain::workflow::Action;
    for (action, actor) in [
        (Action::Submit, &actors[0]),
        (Action::Sign, &actors[1]),
        (Action::Publish, &actors[2]),
    ] {
        store
            .transition(&code, action, None, &crate::demo::as_person(actor))
            .await?;
    }
    Ok(code)
}

/// Publishes one more entry of 市公安局 (after [`publish_entry`]), empty.
async fn publish_another(store: &Store, body: &ResourceBody) -> anyhow::Result<String> {
    use domain::workflow::Action;
    let person = |user: store::users::User| crate::demo::as_person(&user.actor());
    let staff = store.user_by_username("staff").await?;
    let department = staff
        .department_id
        .ok_or_else(|| anyhow::anyhow!("the benchmark's staff has no department"))?;
    let code = store
        .create_resource(department, body, &person(staff))
        .await?
        .code;
    for (action, username) in [
        (Action::Submit, "staff"),
        (Action::Sign, "chief"),
        (Action::Publish, "admin"),
    ] {
        let who = person(store.user_by_username(username).await?);
        store.transition(&code, action, None, &who).await?;
    }
    Ok(code)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn report(name: &str, rows: i64, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "datahall {name} rows={rows} seconds={seconds:.2} rows_per_s={:.0}",
        rows as f64 / seconds
    );
}

pub async fn run(url: &str, args: CollectArgs) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    anyhow::ensure!(
        store.is_empty().await?,
        "bench collect needs an empty database"
    );
    let backend = match store.dialect() {
        store::Dialect::Sqlite => "sqlite",
        store::Dialect::Postgres => "postgres",
    };
    let ctx = AuditContext::system("bench");
    let code = publish_entry(&store, &body(), &ctx).await?;

    let started = Instant::now();
    let batch = collect::file::import_file(
        &store,
        FileImport {
            code: code.clone(),
            path: args.csv.clone(),
            format: FileFormat::from_file_name(&args.csv.to_string_lossy()),
            mapping: None,
            channel: "import",
            identity: collect::file::BatchIdentity::Content { hash: None },
        },
        &ctx,
        |_| {},
    )
    .await?;
    report(&format!("import_{backend}"), batch.rows_received, started);
    println!(
        "# accepted={} quarantined={} repeated_keys={} peak_rss_mib={:.0}",
        batch.rows_accepted,
        batch.rows_quarantined,
        batch.duplicate_keys,
        peak_rss_mib()
    );

    let Some(mysql_url) = args.mysql_url else {
        return Ok(());
    };
    let key = SecretKey::from_base64(&SecretKey::generate())?;
    let items = body().items;
    let definition = SourceDefinition {
        name: "人口库".into(),
        url: mysql_url.clone(),
        query: "bench_people".into(),
        mapping: Default::default(),
        mode: Some("incremental".into()),
        change_column: Some("updated_at".into()),
        change_kind: Some("timestamp".into()),
        overlap: Some(60),
        delete_column: None,
        reconcile_every: None,
    };
    // Sources are the provider department's to define.
    let staff = crate::demo::as_person(&store.user_by_username("staff").await?.actor());
    let source = store
        .create_source(
            &code,
            &collect::pull::define_source(&key, &loopback(), &items, &definition).await?,
            &staff,
        )
        .await?;
    let started = Instant::now();
    let full = collect::pull::run_pull(&store, &key, &loopback(), &source, &ctx).await?;
    report(&format!("pull_full_{backend}"), full.rows_received, started);

    // 1 % of the rows change at the source.
    use sqlx::Connection;
    let mut mysql = sqlx::MySqlConnection::connect(&mysql_url).await?;
    let changed = sqlx::query(
        "UPDATE bench_people SET bz = CONCAT('更新', sfzh), updated_at = NOW(6) ORDER BY sfzh LIMIT 10000",
    )
    .execute(&mut mysql)
    .await?
    .rows_affected();
    let source = store.source(source.id).await?;
    let started = Instant::now();
    let delta = collect::pull::run_pull(&store, &key, &loopback(), &source, &ctx).await?;
    report(
        &format!("pull_incremental_{backend}"),
        delta.rows_received,
        started,
    );
    println!(
        "# changed_at_source={changed} read_again={}",
        delta.rows_received
    );

    // pgloader's own case: the same full pull into an entry that holds nothing yet (on
    // PostgreSQL the rows are copied straight into its table).
    let mut empty_body = body();
    empty_body.name.push_str("（空目录）");
    let empty = publish_another(&store, &empty_body).await?;
    let source = store
        .create_source(
            &empty,
            &collect::pull::define_source(&key, &loopback(), &items, &definition).await?,
            &staff,
        )
        .await?;
    let started = Instant::now();
    let full = collect::pull::run_pull(&store, &key, &loopback(), &source, &ctx).await?;
    report(
        &format!("pull_full_empty_{backend}"),
        full.rows_received,
        started,
    );
    Ok(())
}

/// The benchmark's source database runs on this machine.
fn loopback() -> collect::network::SourcePolicy {
    collect::network::SourcePolicy::parse(&["127.0.0.0/8".into(), "::1/128".into()], vec![])
        .expect("loopback networks parse")
}
