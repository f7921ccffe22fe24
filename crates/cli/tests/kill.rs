//! SIGKILL in the middle of a large import: after restart the entry holds exactly the
//! previous batch's data, the interrupted batch shows as failed, and submitting the same
//! file again resumes it under its id. On SQLite and on PostgreSQL.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use store::{on_pool, Store};

mod support;

fn import(database: &str, file: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_datahall"));
    command
        .args(["import", "--resource", "101001/000001"])
        .arg(file)
        .arg("--database")
        .arg(database)
        .env("DATAHALL_LOG", "warn");
    command
}

/// `rows` distinct valid resident ID numbers, each named `<name><n>`.
fn write_csv(path: &std::path::Path, rows: usize, name: &str) {
    support::write_csv(path, &support::id_numbers(rows), name);
}

async fn rows(store: &Store) -> Vec<(String, String)> {
    on_pool!(store, pool => {
        sqlx::query_as("SELECT id_number, full_name FROM data_101001_000001 ORDER BY id_number")
            .fetch_all(pool).await.unwrap()
    })
}

async fn batch_states(store: &Store) -> Vec<(i64, String, i64)> {
    on_pool!(store, pool => {
        sqlx::query_as("SELECT id, status, attempts FROM batches ORDER BY id").fetch_all(pool).await.unwrap()
    })
}

#[test]
fn a_killed_import_leaves_the_previous_data_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let postgres = runtime.block_on(testkit::postgres_database());
    let mut databases = vec![format!("sqlite://{}", dir.path().join("kill.db").display())];
    databases.extend(postgres.as_ref().map(|db| db.url.clone()));
    let small = dir.path().join("small.csv");
    let large = dir.path().join("large.csv");
    write_csv(&small, 3, "旧");
    write_csv(&large, 150_000, "新");
    for database in &databases {
        let store = runtime.block_on(async {
            let store = Store::connect(database).await.unwrap();
            store.migrate().await.unwrap();
            let body = testkit::fixtures::body("常住人口信息");
            testkit::fixtures::published_entry(&store, "gaj", 1, &body).await;
            store
        });
        let first = import(database, &small).output().unwrap();
        assert!(
            first.status.success(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        let before = runtime.block_on(rows(&store));
        assert_eq!(before.len(), 3);

        let mut child = import(database, &large)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let states = runtime.block_on(batch_states(&store));
            if states.iter().any(|(_, status, _)| status == "running") {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "{database}: the import ended before it could be killed"
            );
            assert!(
                Instant::now() < deadline,
                "{database}: the import never started a batch"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            child.try_wait().unwrap().is_none(),
            "{database}: still importing when killed"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        assert_eq!(
            runtime.block_on(rows(&store)),
            before,
            "{database}: none of the killed batch is visible"
        );
        let states = runtime.block_on(batch_states(&store));
        let (killed, status, _) = states.last().unwrap().clone();
        assert_eq!(
            status, "running",
            "{database}: orphaned until a process recovers it"
        );

        let again = import(database, &large).output().unwrap();
        assert!(
            again.status.success(),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert!(String::from_utf8_lossy(&again.stdout)
            .contains(&format!("batch {killed}: 150000 rows received")));
        let states = runtime.block_on(batch_states(&store));
        assert_eq!(
            states.last().unwrap(),
            &(killed, "succeeded".to_string(), 2),
            "{database}: resumed under its id"
        );
        // The large file repeats the small one's three keys with new names.
        let after = runtime.block_on(rows(&store));
        assert_eq!(after.len(), 150_000, "{database}");
        assert!(after.iter().all(|(_, name)| name.starts_with('新')));
        assert!(runtime.block_on(store.audit_verify()).unwrap().intact);
        runtime.block_on(store.close());
    }
}

/// SIGTERM (systemd, Kubernetes): the server stops taking connections, lets the request in
/// flight finish, and exits 0.
#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_cleanly() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("term.db").display());
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut server = Command::new(env!("CARGO_BIN_EXE_datahall"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--database")
        .arg(&database)
        .env("DATAHALL_LOG", "warn")
        .env("DATAHALL_SHUTDOWN_GRACE_SECONDS", "20")
        .env("DATAHALL_AUDIT_ANCHOR_FILE", dir.path().join("term.anchor"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let address = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let mut connection = loop {
        match std::net::TcpStream::connect(&address) {
            Ok(connection) => break connection,
            Err(_) if started.elapsed() < Duration::from_secs(120) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(error) => panic!("the server did not start: {error}"),
        }
    };
    // A request whose body is still arriving when the signal comes.
    let body = "username=admin&password=not-the-password";
    write!(
        connection,
        "POST /login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    connection.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        server.try_wait().unwrap().is_none(),
        "the server waits for the request in flight"
    );
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "no new connections once stopping"
    );
    connection.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    connection.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 "),
        "the request was answered: {answer:?}"
    );
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(15),
            "the server did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
    testkit::announce(&format!(
        "SIGTERM to exit with a request in flight: {} ms (the request's last bytes came after 500 ms)",
        signalled.elapsed().as_millis()
    ));
}

/// Issue 12, item 7: with the access log journaled locally, a server killed while data
/// calls are answered leaves a record of every answered call (each durable before its
/// answer left), shipped to the database at the next start; a second server is refused the
/// journal's directory.
#[test]
fn a_killed_server_ships_the_record_of_every_answered_call_at_its_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("journal.db").display());
    let journal = dir.path().join("journal");
    let port = support::free_port();
    let address = format!("127.0.0.1:{port}");
    let mut server = support::serve_journaled(&database, port, &journal, Stdio::null());
    support::wait_until_listening(&address);

    let second =
        support::serve_journaled(&database, support::free_port(), &journal, Stdio::piped())
            .wait_with_output()
            .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("正由另一个进程使用"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // Four clients call until the server is killed under them.
    let token = support::demo_token();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (address, token, stop) = (address.clone(), token.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut answered = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if support::data_call(&address, &token).is_some() {
                        answered += 1;
                    }
                }
                answered
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill().unwrap();
    server.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answered: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(answered > 20, "only {answered} calls answered");

    let mut restarted = support::serve_journaled(&database, port, &journal, Stdio::null());
    support::wait_until_listening(&address);
    let logged: i64 = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = Store::connect(&database).await.unwrap();
        on_pool!(store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM access_log WHERE journal IS NOT NULL")
                .fetch_one(pool).await.unwrap()
        })
    });
    let _ = restarted.kill();
    let _ = restarted.wait();
    // Every answered call is there; at most the four in flight at the kill besides
    // (durable, their answers cut).
    assert!(
        logged as u64 >= answered && logged as u64 <= answered + 4,
        "{answered} calls answered, {logged} records"
    );
    testkit::announce(&format!(
        "journaled access log after SIGKILL: {answered} calls answered, {logged} records in the database after the restart"
    ));
}
