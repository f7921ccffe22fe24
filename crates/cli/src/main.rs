//! `datahall`: the government data catalogue, aggregation and sharing platform.
//!
//! This crate is the edge: it parses the command line and configuration, wires the store
//! to the server, and holds the demo city. `anyhow` is used here and nowhere else.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use domain::account::{check_password, Role};
use store::{AuditContext, Store};

mod bench;
mod bench_collect;
mod bench_data;
mod config;
mod demo;
mod demo_data;
mod demo_sharing;
mod import;

use config::Config;

/// glibc's allocator spent a third of a large import's time in malloc and free (many small
/// cell strings freed across threads); mimalloc handles that pattern far better.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "datahall", version, about = "政务数据归集共享平台 — government data catalogue, aggregation and sharing", long_about = None)]
struct Cli {
    /// Configuration file (default: ./datahall.toml if present).
    #[arg(long, global = true, env = "DATAHALL_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB (overrides the configuration).
    #[arg(long, global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web UI and the API.
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage people: add, appoint, reset passwords.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage application API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Export or import the catalogue (XLSX template or JSON).
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Load a CSV or NDJSON export into a published entry (one atomic batch).
    Import(import::ImportArgs),
    /// The working-day calendar: days, deadlines, importing a year's holiday schedule.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Benchmarks that print their figures (see README).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// Load the demo city into an empty database and accept the demo password.
    #[arg(long)]
    demo: bool,
    /// Benchmarks only (benches/sharing/run.sh): serve the data API without its access
    /// log, to measure what the audit costs. Never for a real deployment.
    #[arg(long, hide = true)]
    unaudited_benchmark: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a person. The password is read from DATAHALL_PASSWORD or standard input, never
    /// from the command line.
    Add {
        #[arg(long)]
        username: String,
        /// The person's name, e.g. 张三.
        #[arg(long)]
        display_name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Department short code (required for chief and staff).
        #[arg(long)]
        department: Option<String>,
    },
    /// Appoint a person to a role (and department).
    SetRole {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        department: Option<String>,
    },
    /// Set a new password (from DATAHALL_PASSWORD or standard input) and end sessions.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
    /// List people.
    List,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Chief,
    Staff,
    Auditor,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Chief => Role::Chief,
            RoleArg::Staff => Role::Staff,
            RoleArg::Auditor => Role::Auditor,
        }
    }
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for a department's application; prints the secret once.
    Create {
        /// Department short code.
        #[arg(long)]
        department: String,
        /// The application system's name.
        #[arg(long)]
        application: String,
        /// Expiry date, YYYY-MM-DD (Beijing time, end of day); no expiry when absent.
        #[arg(long)]
        expires: Option<chrono::NaiveDate>,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        department: Option<String>,
    },
}

#[derive(Subcommand)]
enum CatalogueCommand {
    /// Write the whole catalogue to a file.
    Export {
        /// Write the XLSX template (entries and items sheets with drop-down lists).
        #[arg(long, conflicts_with = "json")]
        xlsx: Option<PathBuf>,
        /// Write JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        /// With --xlsx: an empty template.
        #[arg(long)]
        blank: bool,
    },
    /// Import drafts from a file. Nothing is imported from a file with errors unless
    /// --partial is given.
    Import {
        /// A filled XLSX template; entries go to --department.
        #[arg(long, conflicts_with = "json", requires = "department")]
        xlsx: Option<PathBuf>,
        /// A JSON catalogue; entries go to the departments named by their credit codes.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Department short code (XLSX import).
        #[arg(long)]
        department: Option<String>,
        /// Import the valid entries even if others have problems.
        #[arg(long)]
        partial: bool,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Print one line per date from FROM to TO: `YYYY-MM-DD work` or `YYYY-MM-DD rest`
    /// (followed by ` provisional` in a year without a schedule).
    Days {
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    },
    /// Print the due date of "within N working days" of RECEIVED (a date, or an RFC 3339
    /// time), followed by ` provisional` when a year on the way has no schedule.
    Deadline { received: String, n: u32 },
    /// Import (or replace) a year's State Council schedule from a JSON file:
    /// {"year", "notice", "notice_date", "holidays": ["YYYY-MM-DD" or "A..B"], "make_up_days": [...]}.
    Import { file: PathBuf },
    /// List the years the calendar holds, with their notices.
    List,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exit status 1 and name the first broken record if it fails.
    Verify,
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DATAHALL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database).await.with_context(|| {
        format!(
            "cannot open database {}",
            store::redact_url(&config.database)
        )
    })?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    // The logs are sealed, and data subjects hashed, with keys derived from the secret.
    Ok(store
        .with_keys(config.secret_key()?.store_keys())
        .with_batch_limits(config.max_batches, config.max_batches_per_department)
        .with_deadline_rules(config.deadline_rules()?))
}

/// Reads a password from DATAHALL_PASSWORD or the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("DATAHALL_PASSWORD") {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        eprintln!("Password (input is read from standard input):");
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let password = text.lines().next().unwrap_or("").to_string();
    anyhow::ensure!(
        !password.is_empty(),
        "no password given: set DATAHALL_PASSWORD or pipe it to standard input"
    );
    Ok(password)
}

async fn calendar(store: &Store, config: &Config, command: CalendarCommand) -> anyhow::Result<()> {
    use std::io::Write;
    let calendar = store.calendar().await?;
    let provisional = |p: bool| if p { " provisional" } else { "" };
    match command {
        CalendarCommand::Days { from, to } => {
            if to < from {
                bail!("TO ({to}) is before FROM ({from})");
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for date in from.iter_days().take_while(|d| *d <= to) {
                let day = calendar.day(date);
                let kind = if day.working { "work" } else { "rest" };
                writeln!(out, "{date} {kind}{}", provisional(day.provisional))?;
            }
            out.flush()?;
        }
        CalendarCommand::Deadline { received, n } => {
            let at = domain::calendar::parse_receipt(&received).with_context(|| {
                format!("RECEIVED {received:?} is neither YYYY-MM-DD nor an RFC 3339 time")
            })?;
            let deadline = calendar.working_days_after(at, n, config.deadline_rules()?.cutoff);
            println!("{}{}", deadline.due, provisional(deadline.provisional));
        }
        CalendarCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let input: domain::calendar::ScheduleInput = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a schedule", file.display()))?;
            let schedule = domain::calendar::YearSchedule::parse(&input)?;
            store
                .import_calendar_year(&schedule, &cli_context())
                .await?;
            println!(
                "imported {}: {} holidays, {} make-up working days ({})",
                schedule.year,
                schedule.holidays.len(),
                schedule.make_up_days.len(),
                schedule.notice
            );
        }
        CalendarCommand::List => {
            for schedule in calendar.schedules() {
                println!(
                    "{} {} {} holidays={} make_up_days={}",
                    schedule.year,
                    schedule.notice_date,
                    schedule.notice,
                    schedule.holidays.len(),
                    schedule.make_up_days.len()
                );
            }
        }
    }
    Ok(())
}

fn cli_context() -> AuditContext {
    let user = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    AuditContext::system(&format!("cli:{user}"))
}

async fn department_id(store: &Store, code: Option<&str>) -> anyhow::Result<Option<i64>> {
    match code {
        Some(code) => Ok(Some(store.department_by_code(code).await?.id)),
        None => Ok(None),
    }
}

/// Batches whose process died stay invisible; mark them failed so they show and resume.
async fn recover_batches(store: &store::Store) -> anyhow::Result<()> {
    let recovered = store.recover_interrupted_batches().await?;
    if !recovered.is_empty() {
        tracing::warn!(batches = ?recovered, "interrupted batches marked failed; resubmitting the same content resumes them");
    }
    Ok(())
}

async fn serve(config: Config, args: ServeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let listen: std::net::SocketAddr = match &args.listen {
        Some(listen) => listen
            .parse()
            .with_context(|| format!("--listen {listen:?} is not host:port"))?,
        None => config.listen_addr()?,
    };
    let store = open_store(&config).await?;
    recover_batches(&store).await?;
    match server::spool::remove_abandoned(
        &config.spool_dir(),
        std::time::Duration::from_secs(24 * 3600),
    ) {
        Ok(0) => {}
        Ok(removed) => tracing::info!(
            removed,
            "uploads left by a killed process removed from the spool directory"
        ),
        Err(error) => tracing::warn!(%error, "cleaning the spool directory"),
    }
    if args.demo {
        if store.is_empty().await? {
            let summary = demo::load(&store).await?;
            tracing::info!(
                departments = summary.departments,
                resources = summary.resources,
                with_data = summary.with_data,
                share_requests = summary.share_requests,
                "demo city loaded"
            );
        } else {
            tracing::info!("database is not empty; demo mode without reloading the demo city");
        }
    }
    // 等保: the audit records the platform's start; it also ends the chain in a sealed
    // record, which verification requires (a database from before sealing began has an
    // unsealed tail until then).
    let mut started_event =
        store::AuditContext::system("serve").event("platform.start", "platform");
    started_event.detail = Some(format!(
        "datahall {} on {listen}",
        env!("CARGO_PKG_VERSION")
    ));
    store.audit(started_event).await?;
    let secret_key = config.secret_key()?;
    let source_policy = config.source_policy(listen)?;
    let server_config = server::ServerConfig {
        demo_mode: args.demo,
        platform_name: config.platform_name.clone(),
        secure_cookies: config.secure_cookies(listen)?,
        session_hours: config.session_hours,
        max_upload_bytes: config.max_upload_mib << 20,
        spool_dir: config.spool_dir(),
        secret_key: Some(secret_key.clone()),
        source_policy: source_policy.clone(),
        trusted_proxies: config.trusted_proxies()?,
        audit_anchor_file: Some(config.anchor_path()),
        target_government: config.target_government / 100.0,
        target_social: config.target_social / 100.0,
        feed_retention_days: config.feed_retention_days.max(1),
        export_deadline: std::time::Duration::from_secs(config.export_deadline_minutes.max(1) * 60),
        audit_data_access: !args.unaudited_benchmark,
    };
    if args.unaudited_benchmark {
        tracing::warn!("benchmark mode: data API calls are NOT written to the access log");
    }
    let (stop_scheduler, scheduler_stopped) = tokio::sync::watch::channel(false);
    let stop_scheduler = std::sync::Arc::new(stop_scheduler);
    let scheduler = config.scheduler.then(|| {
        let mut scheduler =
            collect::scheduler::Scheduler::new(store.clone(), secret_key, source_policy);
        scheduler.realtime_poll = chrono::Duration::seconds(config.realtime_poll_seconds.max(5));
        scheduler.tick =
            std::time::Duration::from_secs(config.realtime_poll_seconds.clamp(5, 60) as u64);
        scheduler.feed_retention_days = config.feed_retention_days.max(1);
        scheduler.pull_concurrency = config.pull_concurrency.max(1);
        scheduler.pull_deadline =
            std::time::Duration::from_secs(config.pull_deadline_minutes.max(1) * 60);
        let task = tokio::spawn(scheduler.clone().run(scheduler_stopped));
        (scheduler, task)
    });
    let mut state = server::AppState::new(store.clone(), server_config)
        .with_scheduler(scheduler.as_ref().map(|(scheduler, _)| scheduler.clone()));
    let journal = match config.access_journal_dir.trim() {
        "" => None,
        dir => Some(
            store::access_journal::Journal::open(
                std::path::Path::new(dir),
                store.clone(),
                Default::default(),
            )
            .await
            .with_context(|| format!("access_journal_dir {dir}"))?,
        ),
    };
    if let Some(journal) = &journal {
        state = state.with_access_journal(journal.clone());
    }
    let app = server::router(state);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(url = %format!("http://{listen}"), startup_ms = started.elapsed().as_millis() as u64, "datahall is serving");
    eprintln!(
        "datahall: serving http://{listen} (ready in {} ms){}",
        started.elapsed().as_millis(),
        if args.demo {
            " — demo mode, password demo-password"
        } else {
            ""
        }
    );
    if args.demo {
        eprintln!("datahall: demo application tokens (data API under their grants):");
        for line in demo_sharing::token_lines() {
            eprintln!("{line}");
        }
    }
    let grace = std::time::Duration::from_secs(config.shutdown_grace_seconds);
    let stopping = std::sync::Arc::new(tokio::sync::Notify::new());
    let serving = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown({
        let stopping = stopping.clone();
        async move {
            let signal = shutdown_signal().await;
            tracing::info!(
                signal,
                grace_s = grace.as_secs(),
                "stopping: no new connections; finishing requests and pulls in flight"
            );
            stopping.notify_one();
        }
    });
    // Requests in flight get the grace period; then they are cut (an upload cut before
    // its batch commits leaves the entry as it was, and resumes when sent again).
    // One deadline from the signal on, for requests and pulls alike.
    let deadline = std::sync::Arc::new(std::sync::OnceLock::new());
    let cut_requests = {
        let deadline = deadline.clone();
        let stop_scheduler = stop_scheduler.clone();
        async move {
            stopping.notified().await;
            let at = *deadline.get_or_init(|| tokio::time::Instant::now() + grace);
            let _ = stop_scheduler.send(true);
            tokio::time::sleep_until(at).await;
        }
    };
    let served = tokio::select! {
        served = serving => served,
        () = cut_requests => {
            tracing::warn!("requests still running after the grace period were cut");
            Ok(())
        }
    };
    let _ = stop_scheduler.send(true);
    let at = *deadline.get_or_init(|| tokio::time::Instant::now() + grace);
    if let Some((scheduler, task)) = scheduler {
        stop_pulls(scheduler, task, at).await;
    }
    if let Some(journal) = journal {
        // What the journal holds goes to the database now; what does not make it in
        // time is shipped at the next start.
        if !journal.settle(std::time::Duration::from_secs(5)).await {
            tracing::warn!(
                backlog = journal.backlog(),
                "access journal not all shipped; the rest goes at the next start"
            );
        }
        journal.stop().await;
    }
    served?;
    tracing::info!("datahall stopped");
    Ok(())
}

/// Waits for SIGTERM (systemd, Kubernetes) or SIGINT (Ctrl-C); returns which.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// Lets the pulls in flight finish within `grace`, cuts the rest, and gives their claims
/// back so the next start (or another process) pulls those sources at once.
async fn stop_pulls(
    scheduler: collect::scheduler::Scheduler,
    mut task: tokio::task::JoinHandle<()>,
    deadline: tokio::time::Instant,
) {
    if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
        task.abort();
        let _ = task.await;
        tracing::warn!("pulls still running after the grace period were cut");
    }
    match scheduler.release_claims().await {
        Ok(released) if released.is_empty() => {}
        Ok(released) => tracing::info!(sources = ?released, "claims of cut pulls given back"),
        Err(error) => tracing::warn!(%error, "giving back the claims of cut pulls"),
    }
}

async fn user_command(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    match command {
        UserCommand::Add {
            username,
            display_name,
            role,
            department,
        } => {
            let password = read_password()?;
            check_password(&password, false)?;
            let new = store::users::NewUser {
                username,
                display_name,
                role: role.into(),
                department_id: department_id(&store, department.as_deref()).await?,
                password_hash: server::auth::hash_password_blocking(&password)
                    .map_err(|e| anyhow::anyhow!(e.message()))?,
            };
            let user = store.create_user(&new, &cli_context()).await?;
            println!("added {} ({})", user.username, user.role.label());
        }
        UserCommand::SetRole {
            username,
            role,
            department,
        } => {
            let department = department_id(&store, department.as_deref()).await?;
            let user = store
                .set_role(&username, role.into(), department, &cli_context())
                .await?;
            println!("{} is now {}", user.username, user.role.label());
        }
        UserCommand::ResetPassword { username } => {
            let password = read_password()?;
            check_password(&password, false)?;
            let hash = server::auth::hash_password_blocking(&password)
                .map_err(|e| anyhow::anyhow!(e.message()))?;
            store.set_password(&username, &hash, &cli_context()).await?;
            println!("password of {username} reset; their sessions have ended");
        }
        UserCommand::List => {
            for user in store.users(None).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    user.username,
                    user.role.code(),
                    user.department_name.unwrap_or_default(),
                    user.display_name
                );
            }
        }
    }
    Ok(())
}

async fn token_command(config: Config, command: TokenCommand) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    match command {
        TokenCommand::Create {
            department,
            application,
            expires,
        } => {
            let department = store.department_by_code(&department).await?;
            let (secret, hash, prefix) = server::accounts::tokens::new_app_token();
            let expires_at = expires.map(|d| {
                let end_of_day =
                    d.and_hms_opt(23, 59, 59).expect("valid time") - chrono::Duration::hours(8);
                end_of_day.and_utc()
            });
            let token = store
                .create_api_token(
                    department.id,
                    &application,
                    &hash,
                    &prefix,
                    expires_at,
                    &cli_context(),
                )
                .await?;
            println!(
                "token {} for {} / {}:",
                token.id, department.name, token.application
            );
            println!("{secret}");
            eprintln!("(shown once; only its hash is stored)");
        }
        TokenCommand::Revoke { id } => {
            store.revoke_api_token(id, &cli_context()).await?;
            println!("token {id} revoked");
        }
        TokenCommand::List { department } => {
            let department = department_id(&store, department.as_deref()).await?;
            for t in store.api_tokens(department).await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}…\t{}",
                    t.id, t.department_id, t.application, t.token_prefix, state
                );
            }
        }
    }
    Ok(())
}

async fn catalogue_command(config: Config, command: CatalogueCommand) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let state = server::AppState::new(store.clone(), server::ServerConfig::default());
    let everyone = store::resources::Visibility::All;
    match command {
        CatalogueCommand::Export { xlsx, json, blank } => {
            let resources = if blank {
                vec![]
            } else {
                server::catalogue::transfer::visible_entries(&state, everyone)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message()))?
            };
            let count = resources.len();
            match (xlsx, json) {
                (Some(path), None) => {
                    let rows: Vec<ingest::TemplateEntry> = resources
                        .into_iter()
                        .map(|r| ingest::TemplateEntry {
                            code: Some(r.code),
                            provider_name: r.provider.name,
                            status_label: r.status.label().into(),
                            body: r.body,
                        })
                        .collect();
                    std::fs::write(&path, ingest::write_template(&rows)?)?;
                    println!("wrote {count} entries to {}", path.display());
                }
                (None, Some(path)) => {
                    let file = server::catalogue::transfer::catalogue_file(resources);
                    std::fs::write(&path, serde_json::to_vec_pretty(&file)?)?;
                    println!("wrote {count} entries to {}", path.display());
                }
                _ => bail!("give --xlsx FILE or --json FILE"),
            }
        }
        CatalogueCommand::Import {
            xlsx,
            json,
            department,
            partial,
        } => {
            let ctx = cli_context();
            let imported = match (xlsx, json) {
                (Some(path), None) => {
                    let department = store
                        .department_by_code(department.as_deref().unwrap_or_default())
                        .await?;
                    let bytes = std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let parsed = ingest::read_template(&bytes, department.branch_no as u8)?;
                    for p in &parsed.problems {
                        eprintln!("{} 第{}行 {}: {}", p.sheet, p.row, p.column, p.message);
                    }
                    if !parsed.problems.is_empty() && !partial {
                        bail!("{} problems; nothing imported (use --partial to import the valid entries)", parsed.problems.len());
                    }
                    let entries: Vec<_> = parsed
                        .entries
                        .into_iter()
                        .map(|e| (department.clone(), e.body))
                        .collect();
                    store.import_resources(&entries, &ctx).await?
                }
                (None, Some(path)) => {
                    let file: server::catalogue::transfer::CatalogueFile =
                        serde_json::from_slice(&std::fs::read(&path)?).with_context(|| {
                            format!("{} is not a catalogue file", path.display())
                        })?;
                    let departments = store.departments().await?;
                    let mut entries = Vec::new();
                    for (i, entry) in file.entries.into_iter().enumerate() {
                        let provider = departments
                            .iter()
                            .find(|d| d.credit_code == entry.provider_code)
                            .with_context(|| {
                                format!(
                                    "entry {i}: no department with credit code {}",
                                    entry.provider_code
                                )
                            })?;
                        entries.push((provider.clone(), entry.body));
                    }
                    store.import_resources(&entries, &ctx).await?
                }
                _ => bail!("give --xlsx FILE --department CODE, or --json FILE"),
            };
            println!("imported {} drafts: {}", imported.len(), imported.join(" "));
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(database) = cli.database {
        config.database = database;
    }
    init_tracing(&config);
    match cli.command {
        Command::Serve(args) => serve(config, args).await,
        Command::Migrate => {
            open_store(&config).await?;
            println!(
                "database {} is up to date",
                store::redact_url(&config.database)
            );
            Ok(())
        }
        Command::User(command) => user_command(config, command).await,
        Command::Token(command) => token_command(config, command).await,
        Command::Catalogue(command) => catalogue_command(config, command).await,
        Command::Audit(AuditCommand::Verify) => {
            let store = open_store(&config).await?;
            let anchor = config.anchor_path();
            let report =
                server::audit::verification::verify(&store, Some(anchor.as_path()), &cli_context())
                    .await?;
            if report.intact {
                println!(
                    "audit chain intact: {} records ({} sealed); access log: {} records ({} checkpointed); anchor written to {}",
                    report.checked,
                    report.sealed,
                    report.access_checked,
                    report.access_checkpointed,
                    anchor.display()
                );
                Ok(())
            } else {
                println!(
                    "audit chain BROKEN at record {}: {}",
                    report.first_broken_seq.unwrap_or_default(),
                    report.reason.unwrap_or_default()
                );
                std::process::exit(1);
            }
        }
        Command::Calendar(command) => {
            let store = open_store(&config).await?;
            calendar(&store, &config, command).await
        }
        Command::Bench(command) => bench::run(command).await,
        Command::Import(args) => {
            let store = open_store(&config).await?;
            recover_batches(&store).await?;
            import::run(&store, args, &cli_context()).await
        }
    }
}
