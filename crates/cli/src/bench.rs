//! `datahall bench …`: benchmark programs that print their figures, so that anyone can
//! rerun what a closing note quotes.

use std::time::{Duration, Instant};

use clap::Subcommand;
use domain::account::DepartmentKind;
use domain::catalogue::*;
use domain::code::{ClassKind, ResourceClass};
use domain::ids::{CreditCode, RegionCode};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use store::departments::NewDepartment;
use store::resources::{ResourceQuery, Visibility};
use store::{AuditContext, Store};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Catalogue search latency: fills a fresh database with N entries, then runs Q
    /// searches (two-character and longer Chinese terms, with and without filters) and
    /// prints p50/p99. Use --database to choose the backend (an empty database).
    Search {
        #[arg(long, default_value_t = 100_000)]
        entries: usize,
        #[arg(long, default_value_t = 1_000)]
        queries: usize,
    },
    /// Collection: imports a CSV made by benches/collection/gen_rows.py into a fresh
    /// database and, with --mysql-url, pulls the same rows from MariaDB (full, then
    /// incremental after 1 % updates). Prints rows/s; see benches/collection/run.sh.
    Collect(crate::bench_collect::CollectArgs),
    /// The data API: prepares an empty database (an entry of N records, a grant, a token);
    /// see benches/sharing/run.sh.
    DataApi(crate::bench_data::DataApiArgs),
    /// The hall at scale: fills an empty database with DEPARTMENTS departments (codes
    /// `b0`, `b1`, …), ENTRIES entries and DUTIES duties (6 % open, with a notification
    /// each) and leaves it for `serve`; see benches/hall/run.sh, which times the pages.
    Hall {
        #[arg(long, default_value_t = 200)]
        departments: usize,
        #[arg(long, default_value_t = 20_000)]
        entries: usize,
        #[arg(long, default_value_t = 1_000_000)]
        duties: usize,
    },
    /// A bare axum hello-world, the floor `/healthz` is compared with.
    Hello {
        #[arg(long, default_value = "127.0.0.1:18182")]
        listen: String,
    },
}

const WORDS: &[&str] = &[
    "常住",
    "流动",
    "户籍",
    "人口",
    "企业",
    "法人",
    "登记",
    "许可",
    "信用",
    "医疗",
    "保险",
    "教育",
    "学籍",
    "交通",
    "车辆",
    "环境",
    "水质",
    "旅游",
    "景区",
    "税务",
    "发票",
    "住房",
    "公积金",
    "社保",
    "就业",
    "救助",
    "婚姻",
    "殡葬",
    "食品",
    "药品",
    "特种设备",
    "排污",
    "地质",
    "灾害",
    "森林",
    "防火",
    "供电",
    "供水",
    "燃气",
    "通信",
    "基站",
    "贷款",
    "涉农",
    "小微",
    "预算",
    "采购",
    "工单",
    "证照",
    "出生",
    "接种",
];

fn random_body(rng: &mut ChaCha8Rng, branch: u8) -> ResourceBody {
    let count = rng.gen_range(2..=3);
    let words: Vec<&str> = WORDS.choose_multiple(rng, count).copied().collect();
    let name = format!("{}信息", words.concat());
    let mut items = Vec::new();
    for (i, word) in WORDS.choose_multiple(rng, 6).enumerate() {
        items.push(Item {
            name: format!("{word}编号{i}"),
            identifier: format!("f{i}"),
            data_type: DataType::Char,
            length: Some(32),
            required: i == 0,
            key: i == 0,
            code_table: None,
            rule: None,
            security_grade: SecurityGrade::General,
            personal: false,
            share_type: None,
            authoritative: false,
            mask: None,
        });
    }
    let share_type = *[ShareType::Unconditional, ShareType::Conditional]
        .choose(rng)
        .expect("non-empty");
    ResourceBody {
        summary: format!("{name}，包括{}等内容。", words.join("、")),
        name,
        class: ResourceClass {
            kind: ClassKind::Departmental,
            subclass: branch,
            category: rng.gen_range(1..=20),
            detail: String::new(),
        },
        provider_unit: None,
        format: ResourceFormat {
            kind: FormatKind::Database,
            detail: "MySQL".into(),
        },
        items,
        share: ShareAttributes {
            share_type,
            conditions: (share_type == ShareType::Conditional).then(|| "履行职责需要".to_string()),
            legal_basis: None,
            mode: Some(ShareMode::Platform),
            mode_reason: None,
        },
        open: OpenAttributes::default(),
        update_cycle: UpdateCycle::Monthly,
        related_codes: vec![],
        security_grade: SecurityGrade::General,
        extensions: Default::default(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn fill(
    store: &Store,
    count: usize,
    entries: usize,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Vec<store::departments::Department>> {
    let ctx = AuditContext::system("bench");
    let mut departments = Vec::new();
    for n in 0..count {
        let org = CreditCode::organisation_code(&format!("{:08}", 5000_0000 + n)).expect("digits");
        let new = NewDepartment {
            code: format!("b{n}"),
            name: format!("基准测试部门{n}"),
            credit_code: CreditCode::complete(&format!("11341000{org}"))?,
            region_code: RegionCode::parse("341000")?,
            kind: DepartmentKind::Government,
        };
        departments.push(store.create_department(&new, &ctx).await?);
    }
    let started = Instant::now();
    let mut done = 0;
    while done < entries {
        let batch: Vec<_> = (0..1000.min(entries - done))
            .map(|_| {
                let d = departments.choose(rng).expect("departments").clone();
                let body = random_body(rng, d.branch_no as u8);
                (d, body)
            })
            .collect();
        store.import_resources(&batch, &ctx).await?;
        done += batch.len();
        if done % 10_000 == 0 {
            eprintln!(
                "  {done} entries ({:.0}/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(departments)
}

/// A city of `duties` duties over `departments` and `entries`: most done long ago, 6 %
/// open around today, one in twenty the bureau's.
fn benchmark_duties(
    departments: &[store::departments::Department],
    entries: usize,
    duties: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<store::duties::BenchmarkDuty> {
    use domain::deadline::DutyKind::*;
    use domain::duty::{DutySubject, SubjectKind};
    let today = chrono::Utc::now().date_naive();
    let noon = chrono::NaiveTime::from_hms_opt(2, 0, 0).expect("a time");
    let entry = |rng: &mut ChaCha8Rng| rng.gen_range(1..=entries as i64);
    (0..duties)
        .map(|_| {
            let bureau = rng.gen_bool(0.05);
            let kind = if bureau {
                *[ReviewEntry, Coordination].choose(rng).expect("kinds")
            } else {
                *[
                    DepartmentDecision,
                    SignEntry,
                    ReviseEntry,
                    ObjectionVerification,
                    NeedResponse,
                    CollectionFailure,
                ]
                .choose(rng)
                .expect("kinds")
            };
            let subject = match kind {
                SignEntry | ReviewEntry | ReviseEntry => {
                    DutySubject::new(SubjectKind::Entry, entry(rng))
                }
                CollectionFailure => DutySubject::new(SubjectKind::Source, rng.gen_range(1..=1000)),
                ObjectionVerification => {
                    DutySubject::new(SubjectKind::Objection, rng.gen_range(1..=100_000))
                }
                NeedResponse => DutySubject::new(SubjectKind::Need, rng.gen_range(1..=10_000)),
                _ => DutySubject::new(SubjectKind::ShareRequest, rng.gen_range(1..=500_000)),
            };
            let open = rng.gen_bool(0.06);
            let due = if open {
                today + chrono::Duration::days(rng.gen_range(-20..=15))
            } else {
                today - chrono::Duration::days(rng.gen_range(1..=700))
            };
            let received = (due - chrono::Duration::days(14)).and_time(noon).and_utc();
            let done_at = (!open).then(|| {
                let late = rng.gen_bool(0.1);
                let shift = if late {
                    rng.gen_range(1..=5)
                } else {
                    -rng.gen_range(0..=10)
                };
                (due + chrono::Duration::days(shift))
                    .and_time(noon)
                    .and_utc()
            });
            store::duties::BenchmarkDuty {
                kind,
                subject,
                department_id: (!bureau).then(|| departments.choose(rng).expect("departments").id),
                received_at: received,
                due_date: due,
                done_at,
            }
        })
        .collect()
}

/// `bench hall`: the scaled city, left in the database for `serve` to time.
async fn fill_hall(
    url: &str,
    departments: usize,
    entries: usize,
    duties: usize,
) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    anyhow::ensure!(
        store.is_empty().await?,
        "bench hall needs an empty database"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let started = Instant::now();
    let made = fill(&store, departments, entries, &mut rng).await?;
    eprintln!(
        "{departments} departments, {entries} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for chunk in 0..duties.div_ceil(100_000) {
        let count = 100_000.min(duties - chunk * 100_000);
        store
            .fill_benchmark_duties(&benchmark_duties(&made, entries, count, &mut rng))
            .await?;
    }
    store.analyze().await?;
    eprintln!(
        "{duties} duties with their notifications in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    let database = std::env::var("DATAHALL_BENCH_DATABASE").ok();
    let dir = tempfile_dir()?;
    let url = database.unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.display()));
    let (entries, queries) = match command {
        BenchCommand::Search { entries, queries } => (entries, queries),
        BenchCommand::Collect(args) => return crate::bench_collect::run(&url, args).await,
        BenchCommand::DataApi(args) => return crate::bench_data::run(&url, args).await,
        BenchCommand::Hello { listen } => return crate::bench_data::hello(&listen).await,
        BenchCommand::Hall {
            departments,
            entries,
            duties,
        } => return fill_hall(&url, departments, entries, duties).await,
    };
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    anyhow::ensure!(
        store.is_empty().await?,
        "bench search needs an empty database"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    eprintln!(
        "filling {} with {entries} entries…",
        store::redact_url(&url)
    );
    let fill_started = Instant::now();
    fill(&store, 50, entries, &mut rng).await?;
    store.analyze().await?;
    eprintln!(
        "filled and analysed in {:.1} s",
        fill_started.elapsed().as_secs_f64()
    );
    let mut latencies = Vec::with_capacity(queries);
    let mut hits = 0i64;
    for i in 0..queries {
        let word = WORDS.choose(&mut rng).expect("words");
        let text = if i % 3 == 0 {
            format!("{word}{}", WORDS.choose(&mut rng).expect("words"))
        } else {
            (*word).to_string()
        };
        let query = ResourceQuery {
            text: Some(text),
            share_type: (i % 4 == 0).then_some(ShareType::Conditional),
            limit: 20,
            ..Default::default()
        };
        let started = Instant::now();
        let page = store.search_resources(&query, Visibility::All).await?;
        latencies.push(started.elapsed());
        hits += page.total;
    }
    latencies.sort();
    println!(
        "search {} backend, {entries} entries, {queries} queries: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (mean hits {})",
        if url.starts_with("postgres") { "postgres" } else { "sqlite" },
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().expect("queries").as_secs_f64() * 1e3,
        hits / queries.max(1) as i64
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("datahall-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
