//! Architecture invariants of the HTTP layer, checked on its source (rust-analyzer's
//! "tidy" tests): rules that a compiler cannot enforce but a reviewer would.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every "who may" question is answered by `domain::access`: a handler or page that
/// compares roles or departments itself is a second copy of a rule, and copies drift
/// (ARCHITECTURE.md, "One rule, one place").
#[test]
fn handlers_and_pages_carry_no_role_checks_of_their_own() {
    const FORBIDDEN: [&str; 14] = [
        "Role::Admin",
        "Role::Chief",
        "Role::Staff",
        "Role::Auditor",
        ".role()",
        ".role ==",
        ".role !=",
        "works_for(",
        "needs_department(",
        "department_id() ==",
        "department_id() !=",
        "require_role",
        "require_person",
        "Principal::actor",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(files.len() > 20, "found the server's sources");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for pattern in FORBIDDEN {
                if code.contains(pattern) {
                    found.push(format!(
                        "{}:{}: {pattern}: {}",
                        file.strip_prefix(&root).unwrap_or(file).display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "ask domain::access instead (check, allows, matter_scope, …):\n{}",
        found.join("\n")
    );
}

/// Each capability's routes are declared once, in its module's `routes()`: the router and
/// the OpenAPI document are built from the same declarations, so no other file may add a
/// route of its own.
#[test]
fn routes_are_declared_only_in_capability_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut stray = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap_or(file);
        let is_module_root = relative.file_name().is_some_and(|f| f == "mod.rs");
        let is_router = relative == Path::new("lib.rs");
        let text = std::fs::read_to_string(file).expect("readable source");
        if !is_module_root && !is_router && (text.contains(".route(") || text.contains(".routes("))
        {
            stray.push(relative.display().to_string());
        }
    }
    assert!(
        stray.is_empty(),
        "routes declared outside a capability's mod.rs: {stray:?}"
    );
}

/// Every action the platform writes to the audit log has a Chinese name in
/// `domain::audit::ACTIONS` (or is an entry's workflow step, or a refused request), so the
/// audit viewer never shows a bare code.
#[test]
fn every_audited_action_has_a_chinese_name() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for crate_dir in ["store", "server", "collect", "cli"] {
        sources(&workspace.join(crate_dir).join("src"), &mut files);
    }
    let mut actions = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            if !(code.contains("event(")
                || code.contains("failure(")
                || code.contains("let action ="))
            {
                continue;
            }
            for literal in code.split('"').skip(1).step_by(2) {
                let is_action = literal.split_once('.').is_some_and(|(noun, verb)| {
                    !noun.is_empty()
                        && !verb.is_empty()
                        && literal
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                });
                if is_action {
                    actions.push(literal.to_string());
                }
            }
        }
    }
    assert!(actions.len() > 25, "found the audited actions: {actions:?}");
    let unnamed: Vec<&String> = actions
        .iter()
        .filter(|a| domain::audit::action_label(a).is_none())
        .collect();
    assert!(
        unnamed.is_empty(),
        "audited actions without a Chinese name: {unnamed:?}"
    );
}

/// State tags are made by `page::tag` in the tone `page::tones` gives each state, so that a
/// state has one colour on every page (issue 13: 待审核 was amber here and blue there).
#[test]
fn state_tags_are_made_in_one_place() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("page.rs")) {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            if line.contains("class={\"tag ") {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "state tags made outside page::tag:\n{}",
        found.join("\n")
    );
}

/// A fixed tag (`span.tag.<class> { "<label>" }`) has one colour for one label on every page,
/// and the colour of a state with that name.
#[test]
fn fixed_tags_agree_on_their_colours() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut seen: std::collections::HashMap<String, (String, String)> = Default::default();
    // The classes `page::tones` gives the states of these names.
    for (label, class) in [
        ("已停用", "retired"),
        ("已发布", "done"),
        ("待审核", "waiting"),
    ] {
        seen.insert(label.into(), (class.into(), "page::tones".into()));
    }
    let mut conflicts = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            for part in line.split("span.tag.").skip(1) {
                let class: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                let Some(label) = part[class.len()..]
                    .strip_prefix(" { \"")
                    .and_then(|rest| rest.split_once('"'))
                    .map(|(l, _)| l)
                else {
                    continue;
                };
                let place = format!("{}:{}", file.display(), n + 1);
                match seen.get(label) {
                    Some((known, at)) if *known != class => {
                        conflicts.push(format!("{label}: {class} at {place}, {known} at {at}"))
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(label.to_string(), (class, place));
                    }
                }
            }
        }
    }
    assert!(seen.len() >= 8, "found the fixed tags: {seen:?}");
    assert!(
        conflicts.is_empty(),
        "one label, two colours:\n{}",
        conflicts.join("\n")
    );
}
