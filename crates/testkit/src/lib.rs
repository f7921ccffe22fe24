//! Test helpers: a fresh, migrated store on every available backend.
//!
//! SQLite always runs. PostgreSQL runs when `DATAHALL_TEST_POSTGRES_URL` is set (CI sets
//! it); each test then gets its own database, dropped afterwards. Without the variable the
//! PostgreSQL runs are skipped, and the skip is announced on the terminal (not captured
//! by the test harness) so nobody mistakes a laptop run for a full one. With the variable
//! set, an unreachable server fails the test.

use std::io::Write;
use std::sync::Once;

use store::Store;

pub const POSTGRES_ENV: &str = "DATAHALL_TEST_POSTGRES_URL";

/// A store for one test. Dropping it removes its database.
pub struct TestStore {
    pub store: Store,
    pub backend: &'static str,
    /// The database's URL: a second `Store` on it plays a second process.
    pub url: String,
    _guard: Guard,
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, database: String },
    MySql { admin_url: String, database: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres {
            admin_url,
            database,
        } = self
        {
            let (admin_url, database) = (admin_url.clone(), database.clone());
            drop_in_thread(move || async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!(
                        "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                    ))
                    .execute(&mut conn)
                    .await;
                }
            });
        }
        if let Guard::MySql {
            admin_url,
            database,
        } = self
        {
            let (admin_url, database) = (admin_url.clone(), database.clone());
            drop_in_thread(move || async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::MySqlConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{database}`"))
                        .execute(&mut conn)
                        .await;
                }
            });
        }
    }
}

/// Runs async clean-up from `Drop`, which runs outside async code: a thread with its own
/// runtime.
fn drop_in_thread<F, Fut>(cleanup: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(cleanup());
    })
    .join();
}

/// A loud line on the real terminal, bypassing the harness's capture.
pub fn announce(message: &str) {
    let _ = writeln!(std::io::stderr(), "\n*** {message} ***\n");
}

static SKIP_NOTICE: Once = Once::new();

/// The keys of every test store: fixed, so that a test can compute a subject's hash.
pub fn test_keys() -> store::Keys {
    store::Keys {
        seal: Some([7; 32]),
        subjects: Some([11; 32]),
    }
}

/// A fresh SQLite store in a temporary directory.
pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = Store::connect(&url)
        .await
        .expect("sqlite connects")
        .with_keys(test_keys());
    store.migrate().await.expect("sqlite migrates");
    TestStore {
        store,
        backend: "sqlite",
        url,
        _guard: Guard::Sqlite(dir),
    }
}

/// Replaces the database name of a PostgreSQL URL.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{database}?{q}"),
        None => format!("{host_part}/{database}"),
    }
}

pub const MYSQL_ENV: &str = "DATAHALL_TEST_MYSQL_URL";

static MYSQL_SKIP_NOTICE: Once = Once::new();

/// An empty MySQL/MariaDB database of its own (a department's source system), dropped
/// when this is dropped.
pub struct MySqlDatabase {
    pub url: String,
    _guard: Guard,
}

/// A new empty MySQL/MariaDB database, or `None` (announced) when no server is configured.
/// With `DATAHALL_TEST_MYSQL_URL` set, an unreachable server fails the test.
pub async fn mysql_database() -> Option<MySqlDatabase> {
    let Ok(admin_url) = std::env::var(MYSQL_ENV) else {
        MYSQL_SKIP_NOTICE.call_once(|| {
            announce(&format!(
                "SKIPPED MySQL/MariaDB source systems: {MYSQL_ENV} is not set"
            ))
        });
        return None;
    };
    let database = format!("datahall_src_{}", uuid::Uuid::new_v4().simple());
    use sqlx::Connection;
    let mut conn = sqlx::MySqlConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("{MYSQL_ENV} is set but MySQL/MariaDB does not answer: {e}"));
    sqlx::query(&format!(
        "CREATE DATABASE `{database}` CHARACTER SET utf8mb4"
    ))
    .execute(&mut conn)
    .await
    .expect("create test database");
    Some(MySqlDatabase {
        url: with_database(&admin_url, &database),
        _guard: Guard::MySql {
            admin_url,
            database,
        },
    })
}

/// An empty PostgreSQL database of its own, dropped when this is dropped.
pub struct PgDatabase {
    pub url: String,
    _guard: Guard,
}

/// A new empty PostgreSQL database, or `None` (announced) when no server is configured.
pub async fn postgres_database() -> Option<PgDatabase> {
    let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
        SKIP_NOTICE.call_once(|| {
            announce(&format!(
                "SKIPPED PostgreSQL backend: {POSTGRES_ENV} is not set; only SQLite was tested"
            ))
        });
        return None;
    };
    let database = format!("datahall_test_{}", uuid::Uuid::new_v4().simple());
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but PostgreSQL does not answer: {e}"));
    sqlx::query(&format!("CREATE DATABASE \"{database}\""))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let url = with_database(&admin_url, &database);
    Some(PgDatabase {
        url,
        _guard: Guard::Postgres {
            admin_url,
            database,
        },
    })
}

/// A fresh, migrated PostgreSQL store, or `None` (announced) when no server is configured.
pub async fn postgres() -> Option<TestStore> {
    let database = postgres_database().await?;
    let store = Store::connect(&database.url)
        .await
        .expect("postgres connects")
        .with_keys(test_keys());
    store.migrate().await.expect("postgres migrates");
    Some(TestStore {
        store,
        backend: "postgres",
        url: database.url.clone(),
        _guard: database._guard,
    })
}

/// A fresh store on every available backend: SQLite, then PostgreSQL if configured.
pub async fn backends() -> Vec<TestStore> {
    let mut stores = vec![sqlite().await];
    stores.extend(postgres().await);
    stores
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://h/test?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}

/// Small, valid objects for tests.
pub mod fixtures {
    use domain::account::{Actor, DepartmentKind, Role};
    use domain::catalogue::*;
    use domain::code::{ClassKind, ResourceClass};
    use domain::ids::{CreditCode, RegionCode};
    use store::departments::{Department, NewDepartment};
    use store::users::{NewUser, User};
    use store::{AuditContext, Store};

    /// A valid credit code whose organisation part is derived from `n`.
    pub fn credit_code(n: u32) -> CreditCode {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        const WEIGHTS: [usize; 17] = [
            1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
        ];
        let first17 = format!("11341000{:09}", n);
        let sum: usize = first17
            .bytes()
            .zip(WEIGHTS)
            .map(|(b, w)| (b - b'0') as usize * w)
            .sum();
        let check = ALPHABET[(31 - sum % 31) % 31] as char;
        CreditCode::parse(&format!("{first17}{check}")).expect("valid by construction")
    }

    pub async fn department(store: &Store, code: &str, n: u32) -> Department {
        let new = NewDepartment {
            code: code.into(),
            name: format!("测试部门{code}"),
            credit_code: credit_code(n),
            region_code: RegionCode::parse("341000").unwrap(),
            kind: DepartmentKind::Government,
        };
        store
            .create_department(&new, &AuditContext::system("test"))
            .await
            .expect("department")
    }

    pub async fn user(
        store: &Store,
        username: &str,
        role: Role,
        department_id: Option<i64>,
    ) -> User {
        let new = NewUser {
            username: username.into(),
            display_name: "张三".into(),
            role,
            department_id,
            password_hash: "not-a-real-hash".into(),
        };
        store
            .create_user(&new, &AuditContext::system("test"))
            .await
            .expect("user")
    }

    pub fn actor(user: &User) -> Actor {
        user.actor()
    }

    /// The audit context of the existing user `username`.
    pub async fn person_ctx(store: &Store, username: &str) -> store::AuditContext {
        as_person(
            &store
                .user_by_username(username)
                .await
                .expect("user")
                .actor(),
        )
    }

    /// The audit context of a person acting outside a request.
    pub fn as_person(actor: &Actor) -> store::AuditContext {
        store::AuditContext::person(actor.clone())
    }

    pub fn item(name: &str, identifier: &str) -> Item {
        Item {
            name: name.into(),
            identifier: identifier.into(),
            data_type: DataType::Char,
            length: Some(50),
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

    /// A valid basic-class (人口) entry.
    /// Creates `body` in a new department `code` (number `n`) and walks it through
    /// submit, sign and publish; returns the entry's code.
    pub async fn published_entry(store: &Store, code: &str, n: u32, body: &ResourceBody) -> String {
        use domain::workflow::Action;
        use store::AuditContext;
        let dept = department(store, code, n).await;
        let staff = actor(&user(store, &format!("{code}-staff"), Role::Staff, Some(dept.id)).await);
        let chief = actor(&user(store, &format!("{code}-chief"), Role::Chief, Some(dept.id)).await);
        let admin = actor(&user(store, &format!("{code}-admin"), Role::Admin, None).await);
        let resource = store
            .create_resource(dept.id, body, &AuditContext::person(staff.clone()))
            .await
            .expect("entry created");
        for (action, who) in [
            (Action::Submit, &staff),
            (Action::Sign, &chief),
            (Action::Publish, &admin),
        ] {
            store
                .transition(
                    &resource.code,
                    action,
                    None,
                    &AuditContext::person(who.clone()),
                )
                .await
                .expect("workflow step");
        }
        resource.code
    }

    pub fn body(name: &str) -> ResourceBody {
        let mut key = item("公民身份号码", "id_number");
        key.length = Some(18);
        key.required = true;
        key.key = true;
        key.rule = Some(ValidationRule::IdCard);
        key.personal = true;
        ResourceBody {
            name: name.into(),
            class: ResourceClass {
                kind: ClassKind::Basic,
                subclass: 1,
                category: 1,
                detail: String::new(),
            },
            provider_unit: None,
            summary: format!("{name}的摘要"),
            format: ResourceFormat {
                kind: FormatKind::Database,
                detail: "PostgreSQL".into(),
            },
            items: vec![key, item("姓名", "full_name")],
            share: ShareAttributes {
                share_type: ShareType::Unconditional,
                conditions: None,
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
}
