//! Fault trials (issue 12): processes killed with SIGKILL at random points of a
//! 1,000,000-row import (SQLite; PostgreSQL, merging and direct load) and of a pull; a
//! PostgreSQL restarted under a running server and a running import; a full disk under the
//! SQLite default and under the access journal; two servers on one PostgreSQL running the
//! same due sources.
//!
//! After every kill the entry holds exactly the previous or exactly the whole new data, the
//! new data is visible exactly when its batch succeeded, a later process marks the orphaned
//! batch failed, and submitting the same content again resumes it under its id.
//!
//! They are slow, so they live in this one binary. `DATAHALL_FAULT_TRIALS` (20) and
//! `DATAHALL_FAULT_ROWS` (1,000,000) size them; `DATAHALL_FAULT_SEED` repeats a run's kill
//! points. With `DATAHALL_TEST_FAULTS=required` (CI) a trial this machine cannot stage (no
//! root for a private PostgreSQL or a tmpfs) fails instead of being skipped.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{Connection, Executor};
use store::{on_pool, Store};
use support::{free_port, id_numbers, write_csv, Killed};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn wanted_kills() -> usize {
    env_number("DATAHALL_FAULT_TRIALS", 20) as usize
}

fn import_rows() -> usize {
    env_number("DATAHALL_FAULT_ROWS", 1_000_000) as usize
}

/// A seeded generator of kill points, its seed announced so a failing run can be repeated.
fn kill_points(trial: &str) -> StdRng {
    let seed = env_number(
        "DATAHALL_FAULT_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    testkit::announce(&format!("{trial}: DATAHALL_FAULT_SEED={seed}"));
    StdRng::seed_from_u64(seed)
}

/// The new data of the restart and full-disk trials: enough to outlast a restart and to
/// overflow 16 MiB.
const STAGED_ROWS: usize = 250_000;

fn faults_required() -> bool {
    std::env::var("DATAHALL_TEST_FAULTS").is_ok_and(|v| v == "required")
}

/// Whether this process may stage root-only faults (a private PostgreSQL, a tmpfs); if
/// not, the trial is skipped loudly, or fails under `DATAHALL_TEST_FAULTS=required`.
fn may_stage(trial: &str, what: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        assert!(
            !faults_required(),
            "DATAHALL_TEST_FAULTS=required but {trial} needs root for {what}"
        );
        testkit::announce(&format!("SKIPPED {trial}: needs root for {what}"));
    }
    root
}

fn table_of(code: &str) -> String {
    format!("data_{}", code.replace('/', "_"))
}

/// A migrated store at `database` with 公安局's published entry holding 1,000 rows named
/// `旧…`, and the ids of the trial's new data (the first 1,000 are those rows' keys).
fn entry_with_previous_data(
    runtime: &tokio::runtime::Runtime,
    database: &str,
    dir: &Path,
) -> (Store, String, Vec<String>) {
    let store = runtime.block_on(async {
        let store = Store::connect(database).await.unwrap();
        store.migrate().await.unwrap();
        store
    });
    let body = testkit::fixtures::body("常住人口信息");
    let code = runtime.block_on(testkit::fixtures::published_entry(&store, "gaj", 1, &body));
    let ids = id_numbers(STAGED_ROWS);
    let before = dir.join("before.csv");
    write_csv(&before, &ids[..1_000], "旧");
    run_import(database, &code, &before, &dir.join("before.log"));
    (store, code, ids)
}

/// What an entry holds: its rows, and how many of them carry `tag`.
async fn holding(store: &Store, code: &str, tag: &str) -> (i64, i64) {
    let sql = format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN full_name LIKE $1 THEN 1 ELSE 0 END), 0) AS BIGINT) FROM \"{}\"",
        table_of(code)
    );
    on_pool!(store, pool => {
        sqlx::query_as(&sql).bind(format!("{tag}%")).fetch_one(pool).await.unwrap()
    })
}

#[derive(Debug, Clone, PartialEq)]
struct Batch {
    id: i64,
    status: String,
    attempts: i64,
}

async fn batches(store: &Store, code: &str) -> Vec<Batch> {
    let rows: Vec<(i64, String, i64)> = on_pool!(store, pool => {
        sqlx::query_as(
            "SELECT b.id, b.status, b.attempts FROM batches b JOIN resources r ON r.id = b.resource_id \
             WHERE r.code = $1 ORDER BY b.id",
        )
        .bind(code).fetch_all(pool).await.unwrap()
    });
    rows.into_iter()
        .map(|(id, status, attempts)| Batch {
            id,
            status,
            attempts,
        })
        .collect()
}

/// What an entry held before a trial: `rows` rows named `<tag>…` (none when empty).
#[derive(Debug, Clone)]
struct Held {
    tag: String,
    rows: i64,
}

/// How the kills of one trial series ended.
#[derive(Debug, Default)]
struct Tally {
    kills: usize,
    before_publish: usize,
    after_publish: usize,
    /// Kills that left a running batch for a later process to recover.
    orphans: usize,
    ran_to_end: usize,
}

/// The children's PostgreSQL sessions carry this name, so a trial can wait until the
/// server has ended a killed child's sessions (and any COMMIT it had already received).
const TRIAL_APPLICATION: &str = "datahall-fault-trial";

/// `database` with the trial's application name on PostgreSQL.
fn trial_url(database: &str) -> String {
    if database.starts_with("postgres") {
        let joint = if database.contains('?') { '&' } else { '?' };
        format!("{database}{joint}application_name={TRIAL_APPLICATION}")
    } else {
        database.to_string()
    }
}

/// Waits until no session of a killed child is left on PostgreSQL (on SQLite the kernel
/// ends a killed writer's work with the process).
async fn wait_for_dead_children(store: &Store) {
    let started = Instant::now();
    loop {
        let left: i64 = on_pool!(store, pool, dialect => match dialect {
            store::Dialect::Sqlite => 0,
            store::Dialect::Postgres => sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1",
            )
            .bind(TRIAL_APPLICATION)
            .fetch_one(pool)
            .await
            .unwrap(),
        });
        if left == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{left} sessions of killed children still open after a minute"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Tally {
    fn report(&self, label: &str) -> String {
        format!(
            "{label}: {} SIGKILLs at random points, {} clean ({} before the publish, {} of them leaving a batch to recover, {} after it); {} runs ended before their kill point",
            self.kills,
            self.before_publish + self.after_publish,
            self.before_publish,
            self.orphans,
            self.after_publish,
            self.ran_to_end
        )
    }
}

/// Waits until `child` ends or `at` has passed since `started`; kills it then. `true` when
/// it was killed, `false` when it ended on its own first.
fn kill_at(child: &mut Child, started: Instant, at: Duration) -> bool {
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if started.elapsed() >= at {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// After a trial: the entry holds exactly `before` or exactly the whole new data (`rows`
/// rows tagged `tag`), and the new data is there exactly when a new batch succeeded.
/// Returns whether the new data is in, and whether a killed batch was left running.
async fn assert_all_or_nothing(
    store: &Store,
    code: &str,
    label: &str,
    before: &Held,
    batches_before: usize,
    tag: &str,
    rows: i64,
) -> (bool, bool) {
    wait_for_dead_children(store).await;
    let (total, old) = holding(store, code, &before.tag).await;
    let (_, new) = holding(store, code, tag).await;
    let previous = total == before.rows && (before.rows == 0 || old == before.rows);
    let whole_new = total == rows && new == rows;
    assert!(
        previous ^ whole_new,
        "{label}: the entry holds {total} rows ({old} of the previous data, {new} of the new), neither the previous {} nor the new {rows}",
        before.rows
    );
    let after = batches(store, code).await;
    let new_batches = &after[batches_before.min(after.len())..];
    assert!(
        new_batches.len() <= 1,
        "{label}: one batch per run: {after:?}"
    );
    let succeeded = new_batches.iter().any(|b| b.status == "succeeded");
    assert_eq!(
        whole_new, succeeded,
        "{label}: the new data is visible exactly when its batch succeeded: {new_batches:?}"
    );
    if !whole_new {
        assert!(
            new_batches.iter().all(|b| b.status == "running"),
            "{label}: a killed batch stays running until a process recovers it: {new_batches:?}"
        );
    }
    // An earlier orphan may still be running: a process killed before its start-up
    // recovery leaves it to the next one. The series ends by checking none is left.
    (whole_new, !whole_new && !new_batches.is_empty())
}

fn import(database: &str, code: &str, file: &Path, log: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_datahall"));
    command
        .args(["import", "--resource", code])
        .arg(file)
        .arg("--database")
        .arg(trial_url(database))
        .env("DATAHALL_LOG", "warn")
        // The error's causes, not a backtrace, end the log the trials quote.
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    command
}

fn run_import(database: &str, code: &str, file: &Path, log: &Path) -> Duration {
    let started = Instant::now();
    let status = import(database, code, file, log).status().unwrap();
    assert!(
        status.success(),
        "import failed: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    started.elapsed()
}

/// Resubmits an orphan's content. Right after a SIGKILL the database may still be ending
/// the dead writer's statement, holding its batch: the import then says the batch is
/// being collected, and is tried again. Returns how long that took.
fn resume_import(database: &str, code: &str, file: &Path, log: &Path) -> Duration {
    let started = Instant::now();
    loop {
        let status = import(database, code, file, log).status().unwrap();
        let message = std::fs::read_to_string(log).unwrap_or_default();
        if status.success() {
            return started.elapsed();
        }
        assert!(
            message.contains("正在归集") && started.elapsed() < Duration::from_secs(30),
            "import failed: {message}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An entry the import trials write to, and how long a whole import into it takes.
struct Target {
    code: String,
    held: Held,
    /// Emptied before each trial: PostgreSQL then copies straight into the entry's table.
    direct_load: bool,
    took: Duration,
}

struct Trials<'a> {
    runtime: &'a tokio::runtime::Runtime,
    store: &'a Store,
    database: &'a str,
    dir: &'a Path,
    ids: &'a [String],
    rng: StdRng,
    serial: usize,
    last_orphan: Option<Orphan>,
}

/// A batch left running by a kill, and the tag that rebuilds its file.
struct Orphan {
    code: String,
    tag: String,
    batch: i64,
}

impl Trials<'_> {
    fn next_tag(&mut self) -> String {
        self.serial += 1;
        format!("T{}-", self.serial)
    }

    /// One import into `target` killed at a random point of its expected duration.
    fn import_killed(&mut self, label: &str, target: &mut Target, tally: &mut Tally) {
        if target.direct_load && target.held.rows > 0 {
            let sql = format!("TRUNCATE \"{}\"", table_of(&target.code));
            self.runtime.block_on(async {
                on_pool!(self.store, pool => { sqlx::query(&sql).execute(pool).await.unwrap(); })
            });
            target.held.rows = 0;
        }
        let tag = self.next_tag();
        let file = self.dir.join("trial.csv");
        write_csv(&file, self.ids, &tag);
        let log = self.dir.join("trial.log");
        let batches_before = self
            .runtime
            .block_on(batches(self.store, &target.code))
            .len();
        let at = target.took.mul_f64(self.rng.gen_range(0.02..1.1));
        let started = Instant::now();
        let mut child = import(self.database, &target.code, &file, &log)
            .spawn()
            .unwrap();
        let killed = kill_at(&mut child, started, at);
        let label = format!("{label}, kill {} at {at:?}", tally.kills + 1);
        if !killed {
            let ended = child.wait().unwrap();
            assert!(
                ended.success(),
                "{label}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            target.took = started.elapsed();
            tally.ran_to_end += 1;
        }
        let rows = self.ids.len() as i64;
        let (published, orphaned) = self.runtime.block_on(assert_all_or_nothing(
            self.store,
            &target.code,
            &label,
            &target.held,
            batches_before,
            &tag,
            rows,
        ));
        if killed {
            tally.kills += 1;
            if published {
                tally.after_publish += 1;
            } else {
                tally.before_publish += 1;
            }
            tally.orphans += usize::from(orphaned);
        }
        if published {
            target.held = Held { tag, rows };
        } else if let Some(batch) = self
            .runtime
            .block_on(batches(self.store, &target.code))
            .get(batches_before)
        {
            self.last_orphan = Some(Orphan {
                code: target.code.clone(),
                tag,
                batch: batch.id,
            });
        }
    }
}

#[test]
fn imports_killed_at_random_points_leave_the_previous_or_the_whole_new_data() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let postgres = runtime.block_on(testkit::postgres_database());
    let dir = tempfile::tempdir().unwrap();
    let ids = id_numbers(import_rows());
    let mut databases = vec![(
        "SQLite".to_string(),
        format!("sqlite://{}", dir.path().join("kill.db").display()),
    )];
    databases.extend(
        postgres
            .as_ref()
            .map(|db| ("PostgreSQL".to_string(), db.url.clone())),
    );
    let mut reports = Vec::new();
    for (backend, database) in &databases {
        let store = runtime.block_on(async {
            let store = Store::connect(database).await.unwrap();
            store.migrate().await.unwrap();
            store
        });
        let body = testkit::fixtures::body("常住人口信息");
        let mut trials = Trials {
            runtime: &runtime,
            store: &store,
            database,
            dir: dir.path(),
            ids: &ids,
            rng: kill_points(&format!("import kills on {backend}")),
            serial: 0,
            last_orphan: None,
        };
        // The entry replaced batch after batch, and on PostgreSQL one kept empty for the
        // direct load; each first filled once whole, which times a run.
        let mut targets = Vec::new();
        let kinds: &[(&str, u32, bool)] = if backend == "PostgreSQL" {
            &[("gaj", 1, false), ("wjw", 2, true)]
        } else {
            &[("gaj", 1, false)]
        };
        for &(department, n, direct_load) in kinds {
            let code = runtime.block_on(testkit::fixtures::published_entry(
                &store, department, n, &body,
            ));
            let mut took = Duration::ZERO;
            let mut tag = String::new();
            // A merging target is filled twice: the second run times a merge.
            for _ in 0..if direct_load { 1 } else { 2 } {
                tag = trials.next_tag();
                let file = dir.path().join("first.csv");
                write_csv(&file, &ids, &tag);
                took = run_import(database, &code, &file, &dir.path().join("first.log"));
            }
            targets.push(Target {
                code,
                held: Held {
                    tag,
                    rows: ids.len() as i64,
                },
                direct_load,
                took,
            });
        }
        let wanted = wanted_kills();
        let mut tallies: Vec<Tally> = targets.iter().map(|_| Tally::default()).collect();
        let mut turn = 0;
        while tallies.iter().map(|t| t.kills).sum::<usize>() < wanted {
            let which = turn % targets.len();
            turn += 1;
            assert!(turn < wanted * 4, "{backend}: too few runs could be killed");
            let label = format!(
                "{backend}{}",
                if targets[which].direct_load {
                    " direct load"
                } else {
                    ""
                }
            );
            trials.import_killed(&label, &mut targets[which], &mut tallies[which]);
        }
        // An orphan resumes under its id when its content comes again.
        let orphan = trials
            .last_orphan
            .take()
            .expect("some kill left a running batch");
        let file = dir.path().join("resume.csv");
        write_csv(&file, &ids, &orphan.tag);
        let resuming = resume_import(
            database,
            &orphan.code,
            &file,
            &dir.path().join("resume.log"),
        );
        reports.push(format!(
            "{backend}: the last orphan resumed under its id, its resubmission answered in {:.1} s",
            resuming.as_secs_f64()
        ));
        let resumed = runtime.block_on(batches(&store, &orphan.code));
        let resumed = resumed.iter().find(|b| b.id == orphan.batch).unwrap();
        assert_eq!(resumed.status, "succeeded", "{backend}: {resumed:?}");
        assert!(
            resumed.attempts >= 2,
            "{backend}: resumed, not redone: {resumed:?}"
        );
        let whole = ids.len() as i64;
        assert_eq!(
            runtime.block_on(holding(&store, &orphan.code, &orphan.tag)),
            (whole, whole),
            "{backend}: the resumed batch's data"
        );
        for target in &targets {
            let all = runtime.block_on(batches(&store, &target.code));
            assert!(
                all.iter().all(|b| b.status != "running"),
                "{backend}: every orphan recovered: {all:?}"
            );
        }
        assert!(runtime.block_on(store.audit_verify()).unwrap().intact);
        for (target, tally) in targets.iter().zip(&tallies) {
            let kind = if target.direct_load {
                " direct load"
            } else {
                ""
            };
            reports.push(tally.report(&format!(
                "{backend}{kind}, {} rows, a whole run {:.1} s",
                ids.len(),
                target.took.as_secs_f64()
            )));
            assert!(
                tally.orphans > 0,
                "{backend}: some kill left a batch running, for a later process to recover"
            );
        }
        runtime.block_on(store.close());
    }
    for report in reports {
        testkit::announce(&report);
    }
}

/// `datahall serve` (no demo) on a free port of 127.0.0.1; its log in `dir/<name>.log`.
fn serve(database: &str, dir: &Path, name: &str, key: &str) -> (Killed, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_datahall"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--database")
        .arg(trial_url(database))
        .env("DATAHALL_LOG", "warn")
        .env("DATAHALL_SECRET_KEY", key)
        .env("DATAHALL_SOURCE_NETWORKS", "127.0.0.0/8")
        .env(
            "DATAHALL_AUDIT_ANCHOR_FILE",
            dir.join(format!("{name}.anchor")),
        )
        .env("DATAHALL_SPOOL_DIR", dir.join(format!("{name}.spool")))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
        .spawn()
        .unwrap();
    (Killed(child), format!("http://127.0.0.1:{port}"))
}

/// A department's table on the MariaDB source system: every id named `<tag><id>`.
async fn source_table(url: &str, table: &str, ids: &[String], tag: &str) {
    let mut conn = sqlx::MySqlConnection::connect(url).await.unwrap();
    conn.execute(
        format!("CREATE TABLE {table} (id_number VARCHAR(18) PRIMARY KEY, full_name VARCHAR(50))")
            .as_str(),
    )
    .await
    .unwrap();
    for chunk in ids.chunks(5_000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|id| format!("('{id}', '{tag}{id}')"))
            .collect();
        conn.execute(format!("INSERT INTO {table} VALUES {}", values.join(",")).as_str())
            .await
            .unwrap();
    }
}

/// Renames every source row to `<tag><id>`: the next pull brings all-new data.
async fn retag(url: &str, table: &str, tag: &str) {
    let mut conn = sqlx::MySqlConnection::connect(url).await.unwrap();
    conn.execute(format!("UPDATE {table} SET full_name = CONCAT('{tag}', id_number)").as_str())
        .await
        .unwrap();
}

/// A full-mode source on `code` reading `table`, saved as the department's staff.
async fn saved_source(
    store: &Store,
    key: &collect::secret::SecretKey,
    code: &str,
    department: &str,
    url: &str,
    table: &str,
) -> store::sources::Source {
    let definition = collect::pull::SourceDefinition {
        name: "户籍库".into(),
        url: url.into(),
        query: table.into(),
        mapping: Default::default(),
        mode: Some("full".into()),
        change_column: None,
        change_kind: None,
        overlap: None,
        delete_column: None,
        reconcile_every: None,
    };
    let policy = collect::network::SourcePolicy::parse(&["127.0.0.0/8".into()], vec![]).unwrap();
    let body = testkit::fixtures::body("常住人口信息");
    let new = collect::pull::define_source(key, &policy, &body.items, &definition)
        .await
        .unwrap();
    let staff = testkit::fixtures::person_ctx(store, &format!("{department}-staff")).await;
    store.create_source(code, &new, &staff).await.unwrap()
}

/// Makes a source due now. A SIGKILLed pull keeps its lease until it lapses; the trials
/// move the lease into the past instead of waiting, so the claim still goes through the
/// expiry a real crash relies on.
async fn make_due(store: &Store, source: i64) {
    let due = chrono::Utc::now() - chrono::Duration::seconds(1);
    on_pool!(store, pool => {
        sqlx::query("UPDATE sources SET next_run_at = $1, claimed_until = $1 WHERE id = $2")
            .bind(due).bind(source).execute(pool).await.unwrap();
    });
}

/// Waits until the entry holds `rows` rows all tagged `tag`.
async fn wait_for_data(store: &Store, code: &str, tag: &str, rows: i64, limit: Duration) {
    let started = Instant::now();
    while holding(store, code, tag).await != (rows, rows) {
        assert!(
            started.elapsed() < limit,
            "{code}: no whole {tag} data within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn pulls_killed_at_random_points_leave_the_previous_or_the_whole_new_data() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (Some(platform), Some(source)) = runtime.block_on(async {
        (
            testkit::postgres_database().await,
            testkit::mysql_database().await,
        )
    }) else {
        return; // announced by testkit
    };
    let dir = tempfile::tempdir().unwrap();
    let ids = id_numbers(import_rows() / 4);
    let rows = ids.len() as i64;
    let key_text = collect::secret::SecretKey::generate();
    let key = collect::secret::SecretKey::from_base64(&key_text).unwrap();
    let store = runtime.block_on(Store::connect(&platform.url)).unwrap();
    let body = testkit::fixtures::body("常住人口信息");
    let (code, saved) = runtime.block_on(async {
        store.migrate().await.unwrap();
        let code = testkit::fixtures::published_entry(&store, "gaj", 1, &body).await;
        source_table(&source.url, "people", &ids, "T0a-").await;
        let saved = saved_source(&store, &key, &code, "gaj", &source.url, "people").await;
        (code, saved)
    });
    // A whole pull, from the server's start, times a run: the second one, since the first
    // goes into an empty entry (a direct load) and the trials' pulls replace full ones.
    let mut took = Duration::ZERO;
    for (n, tag) in ["T0a-", "T0-"].into_iter().enumerate() {
        if n > 0 {
            runtime.block_on(async {
                retag(&source.url, "people", tag).await;
                make_due(&store, saved.id).await;
            });
        }
        let started = Instant::now();
        let server = serve(&platform.url, dir.path(), "first", &key_text);
        runtime.block_on(wait_for_data(
            &store,
            &code,
            tag,
            rows,
            Duration::from_secs(300),
        ));
        took = started.elapsed();
        drop(server);
    }

    let mut rng = kill_points("pull kills");
    let mut held = Held {
        tag: "T0-".into(),
        rows,
    };
    let mut tally = Tally::default();
    for trial in 1..=wanted_kills() {
        let tag = format!("T{trial}-");
        let batches_before = runtime.block_on(async {
            retag(&source.url, "people", &tag).await;
            make_due(&store, saved.id).await;
            batches(&store, &code).await.len()
        });
        let at = took.mul_f64(rng.gen_range(0.02..1.15));
        let started = Instant::now();
        let (mut server, _) = serve(&platform.url, dir.path(), "trial", &key_text);
        assert!(kill_at(&mut server.0, started, at), "a server runs on");
        tally.kills += 1;
        let label = format!("pull, kill {trial} at {at:?}");
        let (published, orphaned) = runtime.block_on(assert_all_or_nothing(
            &store,
            &code,
            &label,
            &held,
            batches_before,
            &tag,
            rows,
        ));
        if published {
            tally.after_publish += 1;
            held = Held { tag, rows };
        } else {
            tally.before_publish += 1;
        }
        tally.orphans += usize::from(orphaned);
    }
    // The next server recovers the orphans and pulls the source's data whole.
    let tag = "T-last-";
    runtime.block_on(async {
        retag(&source.url, "people", tag).await;
        make_due(&store, saved.id).await;
    });
    let _server = serve(&platform.url, dir.path(), "last", &key_text);
    runtime.block_on(async {
        wait_for_data(&store, &code, tag, rows, Duration::from_secs(300)).await;
        let all = batches(&store, &code).await;
        assert!(
            all.iter().all(|b| b.status != "running"),
            "every orphan recovered: {all:?}"
        );
        assert!(store.audit_verify().await.unwrap().intact);
    });
    assert!(
        tally.orphans > 0,
        "some kill left a pull's batch running, for the next server to recover"
    );
    testkit::announce(&tally.report(&format!(
        "pull from MariaDB into PostgreSQL, {rows} rows, a whole run from the server's start {:.1} s",
        took.as_secs_f64()
    )));
}

#[test]
fn two_servers_on_one_postgres_pull_each_due_source_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (Some(platform), Some(source)) = runtime.block_on(async {
        (
            testkit::postgres_database().await,
            testkit::mysql_database().await,
        )
    }) else {
        return; // announced by testkit
    };
    let dir = tempfile::tempdir().unwrap();
    let ids = id_numbers(2_000);
    let key_text = collect::secret::SecretKey::generate();
    let key = collect::secret::SecretKey::from_base64(&key_text).unwrap();
    let store = runtime.block_on(Store::connect(&platform.url)).unwrap();
    let departments = [
        ("gaj", 1),
        ("wjw", 2),
        ("jyj", 3),
        ("mzj", 4),
        ("rsj", 5),
        ("zjj", 6),
    ];
    let codes: Vec<String> = runtime.block_on(async {
        store.migrate().await.unwrap();
        source_table(&source.url, "few", &ids, "A-").await;
        let body = testkit::fixtures::body("常住人口信息");
        let mut codes = Vec::new();
        for (department, n) in departments {
            let code = testkit::fixtures::published_entry(&store, department, n, &body).await;
            saved_source(&store, &key, &code, department, &source.url, "few").await;
            codes.push(code);
        }
        codes
    });
    let mut first = serve(&platform.url, dir.path(), "one", &key_text).0;
    let mut second = serve(&platform.url, dir.path(), "two", &key_text).0;
    runtime.block_on(async {
        let started = Instant::now();
        loop {
            let done: i64 = on_pool!(&store, pool => {
                sqlx::query_scalar("SELECT COUNT(*) FROM sources WHERE last_success_at IS NOT NULL AND claimed_until IS NULL")
                    .fetch_one(pool).await.unwrap()
            });
            if done == codes.len() as i64 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{done} of {} sources pulled",
                codes.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Time for a second pull of any source, were one to start.
        tokio::time::sleep(Duration::from_secs(3)).await;
        for code in &codes {
            let all = batches(&store, code).await;
            assert_eq!(all.len(), 1, "{code} pulled once: {all:?}");
            assert_eq!(all[0].status, "succeeded", "{code}");
            assert_eq!(holding(&store, code, "A-").await, (2_000, 2_000), "{code}");
        }
        assert!(store.audit_verify().await.unwrap().intact);
    });
    assert!(first.0.try_wait().unwrap().is_none(), "both servers run on");
    assert!(
        second.0.try_wait().unwrap().is_none(),
        "both servers run on"
    );
}

/// A PostgreSQL cluster of this test's own, on its own port, that the test may stop and
/// start: the shared server on 5432 stays up for the other tests.
struct PrivatePostgres {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn create(dir: &Path) -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries in /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("pg_ctl").exists())
            .max()
            .expect("pg_ctl");
        let root = dir.join("pg");
        std::fs::create_dir_all(&root).unwrap();
        for path in [dir, root.as_path()] {
            assert!(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(path)
                .status()
                .unwrap()
                .success());
        }
        let cluster = Self {
            bin,
            root,
            port: free_port(),
        };
        cluster.as_postgres(
            "initdb",
            &["-A", "trust", "-U", "postgres", "--no-sync", "-D"],
            true,
        );
        cluster.start();
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn as_postgres(&self, program: &str, args: &[&str], with_data: bool) {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(program))
            .args(args);
        if with_data {
            command.arg(self.root.join("data"));
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn pg_ctl(&self, action: &[&str]) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.root.display()
        );
        let log = self.root.join("server.log");
        let log = log.to_str().unwrap();
        let mut args = vec!["-w", "-l", log, "-o", &options];
        args.extend_from_slice(action);
        args.push("-D");
        self.as_postgres("pg_ctl", &args, true);
    }

    fn start(&self) {
        self.pg_ctl(&["start"]);
    }

    /// A fast shutdown, as an operator's restart does: sessions are ended at once.
    fn stop(&self) {
        self.pg_ctl(&["stop", "-m", "fast"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["stop", "-m", "immediate", "-D"])
            .arg(self.root.join("data"))
            .output();
    }
}

async fn health(client: &HttpClient, base: &str) -> Option<u16> {
    let response = client
        .get(format!("{base}/healthz").parse().unwrap())
        .await
        .ok()?;
    Some(response.status().as_u16())
}

type HttpClient =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, String>;

/// Polls `/healthz` until it answers `status`.
async fn wait_for_health(client: &HttpClient, base: &str, status: u16, limit: Duration) {
    let started = Instant::now();
    while health(client, base).await != Some(status) {
        assert!(
            started.elapsed() < limit,
            "/healthz did not answer {status} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_postgres_restart_under_a_server_and_an_import_loses_nothing() {
    let trial = "a_postgres_restart_under_a_server_and_an_import_loses_nothing";
    if !may_stage(trial, "a PostgreSQL cluster of its own (runuser postgres)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = PrivatePostgres::create(dir.path());
    let database = cluster.url();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (store, code, ids) = entry_with_previous_data(&runtime, &database, dir.path());
    let rows = ids.len() as i64;
    let client: HttpClient =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let (_server, base) = serve(
        &database,
        dir.path(),
        "server",
        &collect::secret::SecretKey::generate(),
    );
    runtime.block_on(wait_for_health(
        &client,
        &base,
        200,
        Duration::from_secs(120),
    ));

    // An import is writing its batch when the database goes down.
    let file = dir.path().join("new.csv");
    write_csv(&file, &ids, "新");
    let log = dir.path().join("cut.log");
    let mut cut = Killed(import(&database, &code, &file, &log).spawn().unwrap());
    runtime.block_on(async {
        let started = Instant::now();
        while !batches(&store, &code)
            .await
            .iter()
            .any(|b| b.status == "running")
        {
            assert!(started.elapsed() < Duration::from_secs(60), "no batch ran");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    // The test's own pool holds several connections when the database goes down.
    runtime.block_on(async {
        let one = || holding(&store, &code, "旧");
        tokio::join!(one(), one(), one(), one(), one(), one());
    });
    let pooled = on_pool!(&store, pool => pool.size());
    assert!(
        pooled >= 2,
        "a pool of {pooled} could not show one failure per connection"
    );
    std::thread::sleep(Duration::from_millis(300));
    cluster.stop();
    runtime.block_on(wait_for_health(
        &client,
        &base,
        503,
        Duration::from_secs(30),
    ));
    let cut_off = Instant::now();
    let ended = loop {
        if let Some(ended) = cut.0.try_wait().unwrap() {
            break ended;
        }
        assert!(
            cut_off.elapsed() < Duration::from_secs(60),
            "the cut import ends"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!ended.success(), "the cut import fails");
    let message = std::fs::read_to_string(&log).unwrap();
    cluster.start();
    let failed_pings = runtime.block_on(async {
        let mut failed = 0;
        for _ in 0..10 {
            failed += usize::from(!store.ping().await);
        }
        failed
    });
    assert!(
        failed_pings <= 1,
        "after a restart one query finds the connections lost, not one per connection: {failed_pings} of 10 failed"
    );
    runtime.block_on(async {
        wait_for_health(&client, &base, 200, Duration::from_secs(30)).await;
        assert_eq!(
            holding(&store, &code, "旧").await,
            (1_000, 1_000),
            "none of the cut batch is visible: {message}"
        );
    });
    // The server's pool and the batch both recover: the same file again resumes the batch.
    run_import(&database, &code, &file, &dir.path().join("again.log"));
    runtime.block_on(async {
        assert_eq!(holding(&store, &code, "新").await, (rows, rows));
        let all = batches(&store, &code).await;
        let last = all.last().unwrap();
        assert_eq!(
            (last.status.as_str(), last.attempts),
            ("succeeded", 2),
            "resumed under its id: {all:?}"
        );
        assert_eq!(health(&client, &base).await, Some(200));
        assert!(store.audit_verify().await.unwrap().intact);
        store.close().await;
    });
    testkit::announce(&format!(
        "PostgreSQL stopped under a running import: it failed with «{}»; the server answered 503 while the database was down and 200 after",
        message.lines().last().unwrap_or("").trim()
    ));
}

/// A tmpfs of `size` mounted at `path`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Self {
        std::fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "mount a tmpfs at {}", path.display());
        Self(path.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_the_sqlite_import_and_keeps_the_previous_data() {
    let trial = "a_full_disk_fails_the_sqlite_import_and_keeps_the_previous_data";
    if !may_stage(trial, "a small tmpfs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("disk"), "16m");
    let database = format!("sqlite://{}", disk.0.join("full.db").display());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (store, code, ids) = entry_with_previous_data(&runtime, &database, dir.path());
    let rows = ids.len() as i64;

    let file = dir.path().join("new.csv");
    write_csv(&file, &ids, "新");
    let log = dir.path().join("full.log");
    let full = import(&database, &code, &file, &log).status().unwrap();
    let message = std::fs::read_to_string(&log).unwrap();
    assert!(!full.success(), "the import fails on a full disk");
    assert!(message.contains("full"), "it says why: {message}");
    runtime.block_on(async {
        assert_eq!(holding(&store, &code, "旧").await, (1_000, 1_000));
        let check: String = on_pool!(&store, pool => {
            sqlx::query_scalar("PRAGMA integrity_check").fetch_one(pool).await.unwrap()
        });
        assert_eq!(check, "ok");
        assert!(store.audit_verify().await.unwrap().intact);
        let all = batches(&store, &code).await;
        assert_eq!(all.last().unwrap().status, "failed", "{all:?}");
    });

    // With room again, the same file resumes its batch.
    disk.resize("512m");
    run_import(&database, &code, &file, &dir.path().join("again.log"));
    runtime.block_on(async {
        assert_eq!(holding(&store, &code, "新").await, (rows, rows));
        let all = batches(&store, &code).await;
        let last = all.last().unwrap();
        assert_eq!((last.status.as_str(), last.attempts), ("succeeded", 2));
        assert!(store.audit_verify().await.unwrap().intact);
        store.close().await;
    });
    testkit::announce(&format!(
        "SQLite on a full 16 MiB disk: the import failed with «{}», the entry kept its previous data",
        message.lines().last().unwrap_or("").trim()
    ));
}

/// Issue 12, item 7: the access log journaled on a disk that fills up. The data API stops
/// (503, and stays stopped: after a failed write the file's state is not to be trusted)
/// rather than answer a call without a durable record; with room again, the next start
/// ships the record of every call that was answered.
#[test]
fn a_full_journal_disk_stops_the_data_api_and_loses_no_answered_call() {
    let trial = "a_full_journal_disk_stops_the_data_api_and_loses_no_answered_call";
    if !may_stage(trial, "a small tmpfs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("journal-disk"), "1m");
    let journal = disk.0.join("journal");
    let database = format!("sqlite://{}", dir.path().join("journal.db").display());
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let server = Killed(support::serve_journaled(
        &database,
        port,
        &journal,
        Stdio::null(),
    ));
    support::wait_until_listening(&address);

    let token = support::demo_token();
    let mut answered = 0u64;
    let refusal = loop {
        let (status, body) = support::data_call(&address, &token).expect("an answer");
        if status == 503 {
            break body;
        }
        answered += 1;
        assert!(answered < 20_000, "1 MiB of journal never filled");
    };
    assert!(refusal.contains("访问日志写入失败"), "{refusal}");
    let (status, _) = support::data_call(&address, &token).expect("an answer");
    assert_eq!(
        status, 503,
        "once a write failed, the journal takes no more"
    );
    drop(server);

    disk.resize("64m");
    let restarted = Killed(support::serve_journaled(
        &database,
        port,
        &journal,
        Stdio::null(),
    ));
    support::wait_until_listening(&address);
    let (status, _) = support::data_call(&address, &token).expect("an answer");
    assert_eq!(status, 404, "the data API answers again");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (logged, intact) = runtime.block_on(async {
        let store = Store::connect(&database).await.unwrap();
        let logged: i64 = on_pool!(store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM access_log WHERE journal IS NOT NULL")
                .fetch_one(pool).await.unwrap()
        });
        (logged, store.audit_verify().await.unwrap())
    });
    drop(restarted);
    // The calls answered, and at most the refused call whose frame was written whole before
    // the disk was full (it counts as logged, never the other way round).
    assert!(
        logged as u64 >= answered && logged as u64 <= answered + 1,
        "{answered} calls answered, {logged} records"
    );
    assert!(intact.intact, "{intact:?}");
    testkit::announce(&format!(
        "journaled access log on a full 1 MiB disk: {answered} calls answered, then 503; {logged} records shipped at the next start"
    ));
}
