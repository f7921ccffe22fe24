//! The HTTP face of datahall: the JSON API under `/api/v1/` and the web UI (the online
//! government data hall) in Simplified Chinese.
//!
//! Architecture invariant: handlers are thin. They authenticate, parse, call the store
//! (which enforces the domain rules and writes the audit record in the same transaction)
//! and render. No SQL here, no business rule that the store or domain does not also hold.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use store::Store;
use utoipa_axum::router::OpenApiRouter;

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod catalogue;
pub mod collection;
pub mod csv_cell;
pub mod data;
pub mod error;
mod hall;
pub mod headers;
pub mod json;
pub mod needs;
pub mod objections;
pub mod openapi;
pub mod page;
pub mod sharing;
pub mod spool;
pub mod stats;

pub use data::access_log;

/// Largest JSON request body.
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Largest uploaded catalogue file.
pub const UPLOAD_LIMIT: usize = 16 * 1024 * 1024;

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The demo city is loaded: the login page lists demo accounts.
    pub demo_mode: bool,
    /// Shown in the top bar and titles.
    pub platform_name: String,
    /// Mark cookies `Secure` (off only for plain HTTP on loopback).
    pub secure_cookies: bool,
    /// Lifetime of web sessions and API login tokens, in hours.
    pub session_hours: i64,
    /// The largest data file accepted by upload (API and web), in bytes.
    pub max_upload_bytes: u64,
    /// Where uploads are written while they are checked.
    pub spool_dir: std::path::PathBuf,
    /// Seals source database credentials; without it sources cannot be saved or pulled.
    pub secret_key: Option<collect::secret::SecretKey>,
    /// The networks department sources may connect to (none by default).
    pub source_policy: collect::network::SourcePolicy,
    /// Where each verification of the logs leaves the head it saw, outside the database
    /// (none: verifications do not check an earlier head).
    pub audit_anchor_file: Option<std::path::PathBuf>,
    /// Reverse proxies whose `X-Forwarded-For` names the real client (none by default):
    /// login throttling and the audit trail go by the client's address, not the proxy's.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Aggregation-rate targets, 0–1: government data, social/economic data.
    pub target_government: f64,
    pub target_social: f64,
    /// Days the change feed keeps deleted records; an older cursor is refused (410).
    pub feed_retention_days: i64,
    /// The longest an export may hold its slot and its snapshot (a slow reader included).
    pub export_deadline: std::time::Duration,
    /// Whether data API calls are written to the access log: always, except in the
    /// benchmark that measures what the log costs.
    pub audit_data_access: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            demo_mode: false,
            platform_name: "黄山市政务数据归集共享平台 · 线上政务数据大厅".into(),
            secure_cookies: true,
            session_hours: 8,
            max_upload_bytes: 4 << 30,
            spool_dir: std::env::temp_dir(),
            secret_key: None,
            source_policy: collect::network::SourcePolicy::default(),
            trusted_proxies: Vec::new(),
            audit_anchor_file: None,
            target_government: 1.0,
            target_social: 0.6,
            feed_retention_days: 90,
            export_deadline: std::time::Duration::from_secs(3600),
            audit_data_access: true,
        }
    }
}

/// Exports at once; more wait for a slot (429 with `Retry-After`).
const MAX_CONCURRENT_EXPORTS: usize = 4;

/// Shared by every handler, and cloned by every extractor and middleware of every request:
/// one reference count, not one per part (see `Store`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppParts>,
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.inner
    }
}

/// What an [`AppState`] holds.
#[derive(Clone)]
pub struct AppParts {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    pub throttle: Arc<auth::LoginThrottle>,
    /// The data API's access log: group-committed to the database, or journaled locally.
    pub access_log: access_log::AccessLog,
    /// Per-grant rate limits and daily quotas.
    pub limiter: Arc<data::records::RateLimiter>,
    /// Seals paging and change-feed cursors: derived from the configured secret key, so a
    /// consumer's cursor survives restarts and works on every process of the platform.
    pub cursor_key: Arc<collect::secret::SecretKey>,
    /// Exports running at once: each holds a database connection for its duration.
    pub export_slots: Arc<tokio::sync::Semaphore>,
    pub health: Arc<HealthCache>,
    /// The last verification of the logs, and the lock that runs one at a time.
    pub verification: Arc<Verification>,
    /// The process's scheduler, which also runs a person's "run now" (its limits, and
    /// its claims given back at shutdown); `None`: one is made per run.
    pub scheduler: Option<collect::scheduler::Scheduler>,
}

/// The audit page shows the last verification instead of recomputing both logs on every
/// view (a verification reads every record).
#[derive(Default)]
pub struct Verification {
    pub running: tokio::sync::Mutex<()>,
    pub last: std::sync::Mutex<Option<(chrono::DateTime<chrono::Utc>, store::audit::ChainReport)>>,
}

impl AppState {
    /// Must be called inside the Tokio runtime: it starts the access log's writer.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        let cursor_key = match &config.secret_key {
            Some(key) => key.derive("datahall cursors"),
            // Without a configured key (tests), cursors live as long as the process.
            None => {
                collect::secret::SecretKey::from_base64(&collect::secret::SecretKey::generate())
                    .expect("a freshly generated key is valid")
            }
        };
        let parts = AppParts {
            access_log: access_log::AccessLog::start(store.clone()),
            store,
            config: Arc::new(config),
            throttle: Arc::default(),
            limiter: Arc::default(),
            cursor_key: Arc::new(cursor_key),
            export_slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_EXPORTS)),
            health: Arc::default(),
            verification: Arc::default(),
            scheduler: None,
        };
        Self {
            inner: Arc::new(parts),
        }
    }

    /// The same state, its access log kept in a local journal.
    pub fn with_access_journal(mut self, journal: store::access_journal::Journal) -> Self {
        Arc::make_mut(&mut self.inner).access_log = access_log::AccessLog::journaled(journal);
        self
    }

    /// The same state, running manual pulls with `scheduler`.
    pub fn with_scheduler(mut self, scheduler: Option<collect::scheduler::Scheduler>) -> Self {
        Arc::make_mut(&mut self.inner).scheduler = scheduler;
        self
    }
}

/// The database's last answer to a health check, reused for a second: a load balancer
/// polling `/healthz` many times a second does not turn into as many database round trips.
#[derive(Default)]
pub struct HealthCache(std::sync::Mutex<Option<(std::time::Instant, bool)>>);

impl HealthCache {
    async fn database_up(&self, store: &Store) -> bool {
        const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
        let cached = *self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, up)) = cached.filter(|(at, _)| at.elapsed() < FRESH) {
            return up;
        }
        let up = store.ping().await;
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), up));
        up
    }
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "ok", body = String, content_type = "text/plain"),
              (status = 503, description = "database unavailable", body = String, content_type = "text/plain")))]
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    if state.health.database_up(&state.store).await {
        (axum::http::StatusCode::OK, "ok")
    } else {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "database unavailable",
        )
    }
}

/// Every route, each declared once: the JSON endpoints (with their OpenAPI operations) and
/// the pages of each capability side by side.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<openapi::ApiDoc as utoipa::OpenApi>::openapi())
        .routes(utoipa_axum::routes!(healthz))
        .route("/static/app.css", get(page::stylesheet))
        .merge(accounts::routes())
        .merge(hall::routes())
        .merge(catalogue::routes())
        .merge(collection::routes())
        .merge(stats::routes())
        .merge(sharing::routes())
        .merge(calendar::routes())
        .merge(objections::routes())
        .merge(needs::routes())
        .merge(data::routes())
        .merge(audit::routes())
}

/// The OpenAPI document of the routes as they are declared.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::finish(routes().into_openapi())
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (routes, document) = routes().split_for_parts();
    let document = Arc::new(openapi::finish(document));
    routes
        .route(
            "/api/openapi.json",
            get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .route_layer(axum::middleware::from_fn(auth::remember_route))
        .fallback(page::not_found)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page::dress_failures,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::secure,
        ))
        .with_state(state)
}
