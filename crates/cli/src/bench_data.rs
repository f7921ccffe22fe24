//! `datahall bench data-api`: prepares an empty database for the data API benchmark
//! (benches/sharing/run.sh): a conditional entry of N people keyed `K000000000001`, …, with
//! personal items (masked in answers), a grant to a consumer application whose rate and
//! quota do not bind, and that application's token. `datahall bench hello` serves the bare
//! axum hello-world the HTTP floor is compared with.

use std::path::PathBuf;

use domain::account::DepartmentKind;
use domain::catalogue::{DataType, Item, SecurityGrade, ShareType};
use domain::ids::{CreditCode, RegionCode};
use domain::values::{AcceptedRow, TypedValue};
use store::batch_writer::BatchStart;
use store::departments::NewDepartment;
use store::{AuditContext, Store};

#[derive(clap::Args)]
pub struct DataApiArgs {
    /// Records in the entry.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Where to write `token=…`, `code=…`, `table=…`, `rows=…` for the runner.
    #[arg(long)]
    out: PathBuf,
}

fn item(name: &str, identifier: &str, length: Option<u32>, data_type: DataType) -> Item {
    Item {
        name: name.into(),
        identifier: identifier.into(),
        data_type,
        length,
        required: false,
        key: false,
        code_table: None,
        rule: None,
        security_grade: SecurityGrade::General,
        personal: false,
        share_type: None,
        authoritative: false,
        mask: None,
    }
}

fn items() -> Vec<Item> {
    let mut key = item("记录编号", "RECORD_NO", Some(13), DataType::Char);
    key.key = true;
    key.required = true;
    let mut id = item("公民身份号码", "ID_NUMBER", Some(18), DataType::Char);
    id.personal = true;
    id.rule = Some(domain::catalogue::ValidationRule::IdCard);
    let mut name = item("姓名", "FULL_NAME", Some(50), DataType::Char);
    name.personal = true;
    vec![
        key,
        id,
        name,
        item("户籍所在区", "REGION", Some(6), DataType::Char),
        item("月收入", "INCOME", Some(10), DataType::Numeric),
    ]
}

/// A valid ID number for record `n` (GB 11643 check digit).
fn id_number(n: usize) -> String {
    let body = format!("34100219800101{:03}", n % 1000);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

pub async fn run(url: &str, args: DataApiArgs) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    anyhow::ensure!(
        store.is_empty().await?,
        "bench data-api needs an empty database"
    );
    let ctx = AuditContext::system("bench");
    let body = crate::bench_collect::entry_body(
        "常住人口信息（接口基准）",
        items(),
        ShareType::Conditional,
    );
    let code = crate::bench_collect::publish_entry(&store, &body, &ctx).await?;
    let consumer = store
        .create_department(
            &NewDepartment {
                code: "mzj".into(),
                name: "市民政局".into(),
                credit_code: CreditCode::complete("11341000MB0000002")?,
                region_code: RegionCode::parse("341000")?,
                kind: DepartmentKind::Government,
            },
            &ctx,
        )
        .await?;
    let BatchStart::Started(mut writer) = store.begin_batch(&code, "bench", None, &ctx).await?
    else {
        anyhow::bail!("a new batch starts");
    };
    let regions = [
        "341002", "341003", "341004", "341021", "341022", "341023", "341024",
    ];
    for start in (1..=args.rows).step_by(5_000) {
        let chunk: Vec<AcceptedRow> = (start..(start + 5_000).min(args.rows + 1))
            .map(|n| AcceptedRow {
                line: n as u64,
                values: vec![
                    TypedValue::Text(format!("K{n:012}")),
                    TypedValue::Text(id_number(n)),
                    TypedValue::Text(format!("居民{n}")),
                    TypedValue::Text(regions[n % regions.len()].into()),
                    TypedValue::Decimal(format!("{}.{:02}", 1000 + n % 9000, n % 100)),
                ],
            })
            .collect();
        writer.write(&chunk, &[]).await?;
    }
    let report = writer.finish().await?;
    anyhow::ensure!(report.rows_accepted as usize == args.rows, "{report:?}");

    let hash = server::auth::hash_password_blocking("bench-password-not-for-use")
        .map_err(|e| anyhow::anyhow!(e.message()))?;
    let staff = store
        .create_user(
            &store::users::NewUser {
                username: "consumer".into(),
                display_name: "基准".into(),
                role: domain::account::Role::Staff,
                department_id: Some(consumer.id),
                password_hash: hash,
            },
            &ctx,
        )
        .await?
        .actor();
    let input = domain::sharing::RequestInput {
        // The key is granted too: reading by key needs it (a key not granted cannot be
        // looked up, or masked values could be probed through it).
        items: vec![
            "RECORD_NO".into(),
            "ID_NUMBER".into(),
            "FULL_NAME".into(),
            "REGION".into(),
        ],
        purpose: "接口基准".into(),
        legal_basis: "基准测试".into(),
        application: "基准应用".into(),
        valid_until: chrono::Utc::now().date_naive() + chrono::Duration::days(30),
        clear_items: vec![],
    };
    let request = store
        .submit_share_request(&code, &input, &crate::demo::as_person(&staff))
        .await?;
    let chief = store.user_by_username("chief").await?.actor();
    let approve = domain::sharing::Decision::Approve {
        items: vec![],
        clear_items: vec![],
        row_filter: None,
        rate_per_minute: Some(u32::MAX),
        daily_quota: Some(u32::MAX),
        verify_quota: None,
    };
    store
        .decide_share_request(request.id, &approve, &crate::demo::as_person(&chief))
        .await?;
    let (token, hash, prefix) = server::accounts::tokens::new_app_token();
    store
        .create_api_token(consumer.id, "基准应用", &hash, &prefix, None, &ctx)
        .await?;
    let table = store::data_tables::table_name(&domain::code::ResourceCode::parse(&code)?);
    std::fs::write(
        &args.out,
        format!(
            "token={token}\ncode={code}\ntable={table}\nrows={}\n",
            args.rows
        ),
    )?;
    eprintln!(
        "bench data-api: {} rows in {code} ({table}); grant and token written to {}",
        args.rows,
        args.out.display()
    );
    Ok(())
}

/// The bare axum hello-world: no middleware, no state.
pub async fn hello(listen: &str) -> anyhow::Result<()> {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("bench hello: serving http://{listen}");
    axum::serve(listener, app).await?;
    Ok(())
}
