//! `datahall calendar`: every day 2020–2026 against the PyPI package `chinesecalendar`, the
//! worked examples of standards.md §4, provisional deadlines and importing a year.
//!
//! The oracle needs `python3 -c "import chinese_calendar"`. Without it the cross-check is
//! skipped loudly; `.ci/run` installs it and sets DATAHALL_TEST_CHINESECALENDAR=required,
//! which turns a missing oracle into a failure.

use std::process::{Command, Output};

fn datahall(database: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datahall"))
        .args(args)
        .arg("--database")
        .arg(database)
        .env("DATAHALL_LOG", "warn")
        .output()
        .expect("datahall runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "datahall failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn temp_database() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("calendar.db").display());
    (dir, url)
}

/// `YYYY-MM-DD work|rest` per day from the oracle, or why it is unavailable.
fn oracle(from: &str, to: &str) -> Result<String, String> {
    let script = format!(
        "import datetime, chinese_calendar as cc\n\
         d = datetime.date.fromisoformat('{from}')\n\
         end = datetime.date.fromisoformat('{to}')\n\
         out = []\n\
         while d <= end:\n    \
             out.append(d.isoformat() + (' work' if cc.is_workday(d) else ' rest'))\n    \
             d += datetime.timedelta(days=1)\n\
         print('\\n'.join(out))\n"
    );
    let output = Command::new("python3")
        .args(["-c", &script])
        .output()
        .map_err(|e| format!("python3 not runnable: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).to_string());
    }
    Ok(String::from_utf8_lossy(&output.stdout).to_string())
}

#[test]
fn every_day_2020_to_2026_matches_chinesecalendar() {
    let expected = match oracle("2020-01-01", "2026-12-31") {
        Ok(days) => days,
        Err(reason) => {
            assert!(
                std::env::var("DATAHALL_TEST_CHINESECALENDAR").as_deref() != Ok("required"),
                "chinesecalendar is required but unavailable: {reason}"
            );
            eprintln!(
                "\n*** SKIPPED: the chinesecalendar cross-check (pip install chinesecalendar): {reason}\n"
            );
            return;
        }
    };
    let (_dir, db) = temp_database();
    let ours = stdout(&datahall(
        &db,
        &["calendar", "days", "2020-01-01", "2026-12-31"],
    ));
    let expected: Vec<&str> = expected.lines().collect();
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(ours.len(), 2557, "seven years of days");
    let differences: Vec<String> = expected
        .iter()
        .zip(&ours)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("chinesecalendar {a} / datahall {b}"))
        .collect();
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(ours.len(), expected.len());
}

#[test]
fn deadlines_follow_the_worked_examples_and_flag_unscheduled_years() {
    let (_dir, db) = temp_database();
    let deadline = |received: &str, n: &str| {
        stdout(&datahall(&db, &["calendar", "deadline", received, n]))
            .trim()
            .to_string()
    };
    assert_eq!(deadline("2026-02-13", "3"), "2026-02-25");
    assert_eq!(deadline("2026-02-13", "10"), "2026-03-05");
    assert_eq!(deadline("2026-02-14", "3"), "2026-02-26");
    // Friday 18:00 Beijing is 10:00 UTC: still Friday.
    assert_eq!(deadline("2026-02-13T10:00:00Z", "3"), "2026-02-25");
    assert_eq!(deadline("2026-12-28", "10"), "2027-01-11 provisional");
    let days = stdout(&datahall(
        &db,
        &["calendar", "days", "2027-01-01", "2027-01-02"],
    ));
    assert_eq!(
        days,
        "2027-01-01 work provisional\n2027-01-02 rest provisional\n"
    );
    let bad = datahall(&db, &["calendar", "deadline", "13/02/2026", "3"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
}

#[test]
fn an_imported_year_makes_its_deadlines_final() {
    let (dir, db) = temp_database();
    let file = dir.path().join("2027.json");
    std::fs::write(
        &file,
        r#"{"year": 2027, "notice": "测试通知", "notice_date": "2026-11-01",
            "holidays": ["2027-01-01", "2027-01-04"], "make_up_days": ["2027-01-09"]}"#,
    )
    .unwrap();
    let imported = stdout(&datahall(
        &db,
        &["calendar", "import", file.to_str().unwrap()],
    ));
    assert!(
        imported.contains("imported 2027: 2 holidays, 1 make-up working days"),
        "{imported}"
    );
    // 29, 30, 31 Dec; 1 and 4 Jan off; 5–8, 9 (make-up), 11, 12: final, one day later
    // than the Monday–Friday guess.
    let due = stdout(&datahall(
        &db,
        &["calendar", "deadline", "2026-12-28", "10"],
    ));
    assert_eq!(due.trim(), "2027-01-12");
    let due = stdout(&datahall(&db, &["calendar", "deadline", "2026-12-28", "8"]));
    assert_eq!(due.trim(), "2027-01-09");
    let list = stdout(&datahall(&db, &["calendar", "list"]));
    assert!(list.contains("2027 2026-11-01 测试通知"), "{list}");

    std::fs::write(&file, r#"{"year": 2027, "notice": "x", "notice_date": "2026-11-01", "holidays": ["2027-02-30"], "make_up_days": []}"#).unwrap();
    let bad = datahall(&db, &["calendar", "import", file.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("2027-02-30"));
}
