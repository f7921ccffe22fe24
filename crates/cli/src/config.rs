//! Configuration, layered: defaults → TOML file → `DATAHALL_*` environment → flags.

use std::net::SocketAddr;
use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Every setting, with its default. See README.md for the list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://datahall.db` (embedded default) or `postgres://user:pass@host/db`.
    pub database: String,
    /// Address the web UI and API listen on.
    pub listen: String,
    /// Shown in the top bar and page titles.
    pub platform_name: String,
    /// `auto` (Secure unless listening on loopback), `always` or `never`.
    pub secure_cookies: String,
    /// Lifetime of a login, in hours.
    pub session_hours: i64,
    /// `pretty` for people, `json` for log collectors.
    pub log_format: String,
    /// A `tracing` filter, e.g. `info` or `datahall=debug,sqlx=warn`.
    pub log_level: String,
    /// The largest data file accepted by upload, in MiB.
    pub max_upload_mib: u64,
    /// Where uploads are written while they are checked (empty: the system's temp dir).
    pub spool_dir: String,
    /// 32 bytes in base64 that seal source database credentials. Empty: the key in
    /// `secret_key_file`, created on first use.
    pub secret_key: String,
    pub secret_key_file: String,
    /// How often sources of 实时 entries are polled, in seconds.
    pub realtime_poll_seconds: i64,
    /// Days the change feed remembers deleted records (a consumer further behind re-exports).
    pub feed_retention_days: i64,
    /// Run the pull scheduler in this process.
    pub scheduler: bool,
    /// Pulls this process runs at once.
    pub pull_concurrency: usize,
    /// Batches (uploads, pushes, pulls) written at once, and into one department's
    /// entries; past them a batch is refused with 429 and `Retry-After`.
    pub max_batches: usize,
    pub max_batches_per_department: usize,
    /// The longest an export may run, in minutes (a slow reader included).
    pub export_deadline_minutes: u64,
    /// The longest one pull may take, in minutes; past it, it is aborted (采集超时).
    pub pull_deadline_minutes: u64,
    /// How long a source may stay silent (no next row, no answer), in seconds.
    pub source_idle_seconds: u64,
    /// On SIGTERM or Ctrl-C: how long in-flight requests and pulls may take to finish,
    /// in seconds, before they are cut (and cut pulls resume at the next start).
    pub shutdown_grace_seconds: u64,
    /// Aggregation-rate targets in percent: government data, social/economic data.
    pub target_government: f64,
    pub target_social: f64,
    /// Deadlines in working days (standards.md §2): data the platform provides directly,
    /// a department's decision, the bureau's coordination, objection verification, the
    /// answer to a data need.
    pub deadline_platform_days: u32,
    pub deadline_decision_days: u32,
    pub deadline_coordination_days: u32,
    pub deadline_objection_days: u32,
    pub deadline_need_days: u32,
    pub deadline_revision_days: u32,
    pub deadline_sign_days: u32,
    pub deadline_review_days: u32,
    pub deadline_revise_days: u32,
    pub deadline_collection_days: u32,
    /// Receipts after this Beijing time (`HH:MM`) count from the next working day; empty
    /// for none.
    pub deadline_cutoff: String,
    /// Networks department source databases may be in, comma-separated CIDR blocks or
    /// addresses (`10.0.0.0/8, 172.16.5.10`). Empty: no source may connect.
    pub source_networks: String,
    /// Where each verification of the logs leaves the (sealed) head it saw, outside the
    /// database, for the next verification to check; back it up apart from the database.
    /// Empty: `<database file>.audit-anchor` beside a SQLite file, else
    /// `datahall.audit-anchor` in the working directory.
    pub audit_anchor_file: String,
    /// Where the data API's access log is journaled before it is shipped to the database
    /// in bulk (one local `fdatasync` per group of calls; see `store::access_journal`).
    /// Empty: every group is committed to the database directly. One process per directory.
    pub access_journal_dir: String,
    /// Reverse proxies (comma-separated CIDR blocks or addresses) whose `X-Forwarded-For`
    /// names the client. Empty: the peer's address is the client's.
    pub trusted_proxies: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database: "sqlite://datahall.db".into(),
            listen: "127.0.0.1:8080".into(),
            platform_name: server::ServerConfig::default().platform_name,
            secure_cookies: "auto".into(),
            session_hours: 8,
            log_format: "pretty".into(),
            log_level: "info,sqlx=warn".into(),
            max_upload_mib: 4096,
            spool_dir: String::new(),
            secret_key: String::new(),
            secret_key_file: "datahall.key".into(),
            realtime_poll_seconds: 60,
            feed_retention_days: 90,
            scheduler: true,
            pull_concurrency: 4,
            max_batches: 8,
            max_batches_per_department: 3,
            export_deadline_minutes: 60,
            pull_deadline_minutes: 30,
            source_idle_seconds: 120,
            shutdown_grace_seconds: 30,
            target_government: 100.0,
            target_social: 60.0,
            deadline_platform_days: 3,
            deadline_decision_days: 10,
            deadline_coordination_days: 10,
            deadline_objection_days: 5,
            deadline_need_days: 10,
            deadline_revision_days: 10,
            deadline_sign_days: 5,
            deadline_review_days: 5,
            deadline_revise_days: 10,
            deadline_collection_days: 3,
            deadline_cutoff: String::new(),
            source_networks: String::new(),
            trusted_proxies: String::new(),
            audit_anchor_file: String::new(),
            access_journal_dir: String::new(),
        }
    }
}

const KEYS: [&str; 38] = [
    "database",
    "listen",
    "platform_name",
    "secure_cookies",
    "session_hours",
    "log_format",
    "log_level",
    "max_upload_mib",
    "spool_dir",
    "secret_key",
    "secret_key_file",
    "realtime_poll_seconds",
    "feed_retention_days",
    "scheduler",
    "pull_concurrency",
    "max_batches",
    "max_batches_per_department",
    "export_deadline_minutes",
    "pull_deadline_minutes",
    "source_idle_seconds",
    "shutdown_grace_seconds",
    "target_government",
    "target_social",
    "deadline_platform_days",
    "deadline_decision_days",
    "deadline_coordination_days",
    "deadline_objection_days",
    "deadline_need_days",
    "deadline_revision_days",
    "deadline_sign_days",
    "deadline_review_days",
    "deadline_revise_days",
    "deadline_collection_days",
    "deadline_cutoff",
    "source_networks",
    "trusted_proxies",
    "audit_anchor_file",
    "access_journal_dir",
];

impl Config {
    /// Defaults, then `datahall.toml` (or the given file), then `DATAHALL_*` variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(
                    path.exists(),
                    "configuration file {} does not exist",
                    path.display()
                );
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("datahall.toml")),
        }
        // Only the keys of this struct: other DATAHALL_* variables (test settings, the
        // password of `user add`) are not configuration.
        Ok(figment
            .merge(Env::prefixed("DATAHALL_").only(&KEYS))
            .extract()?)
    }

    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen
            .parse()
            .map_err(|e| anyhow::anyhow!("listen address {:?} is not host:port: {e}", self.listen))
    }

    /// The deadline rules; a figure changed from its default cites this configuration.
    pub fn deadline_rules(&self) -> anyhow::Result<domain::deadline::DeadlineRules> {
        use domain::deadline::DutyKind;
        let mut rules = domain::deadline::DeadlineRules::default();
        for rule in &mut rules.rules {
            let days = match rule.kind {
                DutyKind::PlatformProvision => self.deadline_platform_days,
                DutyKind::DepartmentDecision => self.deadline_decision_days,
                DutyKind::Coordination => self.deadline_coordination_days,
                DutyKind::ObjectionVerification => self.deadline_objection_days,
                DutyKind::NeedResponse => self.deadline_need_days,
                DutyKind::BasisRevision => self.deadline_revision_days,
                DutyKind::SignEntry => self.deadline_sign_days,
                DutyKind::ReviewEntry => self.deadline_review_days,
                DutyKind::ReviseEntry => self.deadline_revise_days,
                DutyKind::CollectionFailure => self.deadline_collection_days,
                // Due when the year begins; no working days to configure.
                DutyKind::CalendarYear => continue,
            };
            anyhow::ensure!(
                (1..=60).contains(&days),
                "deadline for {} must be 1–60 working days",
                rule.kind.code()
            );
            if days != rule.working_days {
                rule.working_days = days;
                rule.source = "本平台配置（datahall.toml）".into();
            }
        }
        if !self.deadline_cutoff.is_empty() {
            let cutoff = chrono::NaiveTime::parse_from_str(&self.deadline_cutoff, "%H:%M")
                .map_err(|_| {
                    anyhow::anyhow!("deadline_cutoff {:?} is not HH:MM", self.deadline_cutoff)
                })?;
            rules.cutoff = Some(cutoff);
        }
        Ok(rules)
    }

    /// Where department sources may connect: the configured networks, and never the
    /// platform's own database server or listening address.
    pub fn source_policy(
        &self,
        listen: SocketAddr,
    ) -> anyhow::Result<collect::network::SourcePolicy> {
        let networks: Vec<String> = self
            .source_networks
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        let mut forbidden = vec![listen];
        if let Some((host, port)) = database_server(&self.database) {
            use std::net::ToSocketAddrs;
            if let Ok(addresses) = (host.as_str(), port).to_socket_addrs() {
                forbidden.extend(addresses);
            }
        }
        let mut policy = collect::network::SourcePolicy::parse(&networks, forbidden)
            .map_err(anyhow::Error::msg)?;
        policy.timeouts.idle = std::time::Duration::from_secs(self.source_idle_seconds.max(1));
        Ok(policy)
    }

    /// The anchor file of this database: one database, one anchor (an anchor left by
    /// another database would read as a rewritten log).
    pub fn anchor_path(&self) -> std::path::PathBuf {
        if !self.audit_anchor_file.trim().is_empty() {
            return self.audit_anchor_file.trim().into();
        }
        match sqlite_file(&self.database) {
            Some(file) => format!("{file}.audit-anchor").into(),
            None => "datahall.audit-anchor".into(),
        }
    }

    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!("trusted_proxies: {p:?} is not a CIDR block or address")
                    })
            })
            .collect()
    }

    pub fn spool_dir(&self) -> std::path::PathBuf {
        match self.spool_dir.as_str() {
            "" => std::env::temp_dir(),
            dir => dir.into(),
        }
    }

    /// The key sealing source credentials: configured, or read from (and on first use
    /// written to, readable by the owner only) `secret_key_file`.
    pub fn secret_key(&self) -> anyhow::Result<collect::secret::SecretKey> {
        if !self.secret_key.is_empty() {
            return Ok(collect::secret::SecretKey::from_base64(&self.secret_key)?);
        }
        let path = Path::new(&self.secret_key_file);
        if !path.exists() {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
            writeln!(file, "{}", collect::secret::SecretKey::generate())?;
            tracing::warn!(file = %path.display(), "created a secret key for source credentials; back it up with the database");
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        Ok(collect::secret::SecretKey::from_base64(&text)?)
    }

    pub fn secure_cookies(&self, listen: SocketAddr) -> anyhow::Result<bool> {
        match self.secure_cookies.as_str() {
            "auto" => Ok(!listen.ip().is_loopback()),
            "always" => Ok(true),
            "never" => Ok(false),
            other => anyhow::bail!("secure_cookies must be auto, always or never, not {other:?}"),
        }
    }
}

/// The host and port of a PostgreSQL database URL (an embedded SQLite file has none).
/// The file of a `sqlite://` URL (`sqlite://data/datahall.db?mode=rwc` → `data/datahall.db`).
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or(rest);
    (!file.is_empty() && file != ":memory:").then_some(file)
}

fn database_server(url: &str) -> Option<(String, u16)> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return None;
    }
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str().filter(|h| !h.is_empty())?.to_string();
    Some((host, parsed.port().unwrap_or(5432)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_database_has_its_own_anchor_file() {
        let mut config = Config {
            database: "sqlite:///var/lib/datahall/city.db?mode=rwc".into(),
            ..Config::default()
        };
        assert_eq!(
            config.anchor_path(),
            std::path::Path::new("/var/lib/datahall/city.db.audit-anchor")
        );
        config.database = "postgres://datahall@db/datahall".into();
        assert_eq!(
            config.anchor_path(),
            std::path::Path::new("datahall.audit-anchor")
        );
        config.audit_anchor_file = "/backup/anchor".into();
        assert_eq!(config.anchor_path(), std::path::Path::new("/backup/anchor"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail fixes the closure's error type
    fn file_then_environment_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("datahall.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\nsession_hours = 4\n").unwrap();
        figment::Jail::expect_with(|jail| {
            jail.set_env("DATAHALL_SESSION_HOURS", "2");
            jail.set_env("DATAHALL_TEST_POSTGRES_URL", "postgres://ignored");
            let config = Config::load(Some(&path)).unwrap();
            assert_eq!(config.listen, "0.0.0.0:9000");
            assert_eq!(config.session_hours, 2);
            assert_eq!(config.database, "sqlite://datahall.db");
            assert!(
                config
                    .secure_cookies(config.listen_addr().unwrap())
                    .unwrap(),
                "auto is Secure off loopback"
            );
            Ok(())
        });
    }

    #[test]
    fn sources_never_reach_the_platforms_own_database() {
        let config = Config {
            database: "postgres://datahall:pw@127.0.0.1:5432/datahall".into(),
            source_networks: "127.0.0.0/8, 10.0.0.0/8".into(),
            ..Config::default()
        };
        let policy = config
            .source_policy("127.0.0.1:8080".parse().unwrap())
            .unwrap();
        assert_eq!(policy.allowed.len(), 2);
        assert!(policy
            .forbidden
            .contains(&"127.0.0.1:5432".parse().unwrap()));
        assert!(policy
            .forbidden
            .contains(&"127.0.0.1:8080".parse().unwrap()));
        let wrong = Config {
            source_networks: "everywhere".into(),
            ..Config::default()
        };
        assert!(wrong
            .source_policy("127.0.0.1:8080".parse().unwrap())
            .is_err());
    }

    #[test]
    fn rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("datahall.toml");
        std::fs::write(&path, "databse = \"x\"\n").unwrap();
        let error = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(error.contains("databse"), "{error}");
    }
}
