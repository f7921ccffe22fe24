//! Authentication: argon2 password hashes, random session and API tokens (stored only as
//! SHA-256 hashes), the middleware that resolves who is calling, and login throttling.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use base64::Engine;
use domain::access::{Application, Caller};
use domain::audit::Outcome;
use rand::RngCore;
use sha2::{Digest, Sha256};
use store::sessions::ApiToken;
use store::users::User;
use store::AuditContext;

use crate::error::{ApiError, DeniedReason};
use crate::AppState;

pub const SESSION_COOKIE: &str = "dh_session";
/// Application tokens start with this, so the middleware knows which table to look in.
pub const APP_TOKEN_PREFIX: &str = "dhapp_";

/// An argon2id hash of `password`, computed on the calling thread: for the command line
/// and tests. Request handlers use [`hash_password`].
pub fn hash_password_blocking(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Password hashes computed at once. Argon2 is slow on purpose (tens of milliseconds of
/// CPU and 19 MiB each): hashes run on the blocking pool, never on the async workers that
/// serve the data API, and no more than this many together, so that a burst of logins
/// (or of guesses) waits its turn instead of taking every core.
const HASHING_SLOTS: usize = 2;

fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(HASHING_SLOTS))
}

async fn off_the_workers<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let _slot = hashing_slots().acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// An argon2id hash of `password`, off the async workers.
pub async fn hash_password(password: &str) -> Result<String, ApiError> {
    let password = password.to_string();
    off_the_workers(move || hash_password_blocking(&password))
        .await
        .unwrap_or_else(|| {
            Err(ApiError::Internal(
                "password hashing was interrupted".into(),
            ))
        })
}

/// Whether `password` matches `hash`, checked off the async workers.
pub async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    off_the_workers(move || verify_blocking(&password, &hash))
        .await
        .unwrap_or(false)
}

/// 32 random bytes, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Who is calling.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A person, signed in through the web (cookie) or the API (bearer).
    User { user: User, csrf_token: String },
    /// A department's application system with its API token.
    Application(ApiToken),
}

impl Principal {
    /// The caller every access rule is checked against (domain::access).
    pub fn caller(&self) -> Caller {
        match self {
            Principal::User { user, .. } => Caller::Person(user.actor()),
            Principal::Application(token) => Caller::Application(Application {
                token_id: token.id,
                department_id: token.department_id,
                name: token.application.clone(),
            }),
        }
    }

    /// The name the audit log records.
    pub fn name(&self) -> String {
        self.caller().name()
    }
}

/// Request id and source address, for logs and the audit trail.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub request_id: String,
    pub source_ip: Option<String>,
}

/// The audit context of a request: its caller (anonymous when nobody signed in), id and
/// source address.
pub fn audit_context(principal: Option<&Principal>, meta: &RequestMeta) -> AuditContext {
    AuditContext::new(
        principal.map_or(Caller::Anonymous, Principal::caller),
        Some(meta.request_id.clone()),
        meta.source_ip.clone(),
    )
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The client's address: the peer's, or behind a trusted reverse proxy the last address in
/// `X-Forwarded-For` that is not itself a trusted proxy (addresses a client writes there
/// itself come before those its proxies add, and are not believed).
pub fn client_address(parts: &Parts, trusted: &[ipnet::IpNet]) -> Option<std::net::IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return Some(peer);
    }
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .collect::<Vec<_>>();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.iter().any(|net| net.contains(ip)))
            .unwrap_or(peer),
    )
}

/// Resolves the caller: API paths accept only bearer tokens (no cookies, so no CSRF
/// exposure); pages accept only the session cookie, and their forms carry a CSRF token.
async fn resolve(state: &AppState, parts: &Parts) -> Result<Option<Principal>, ApiError> {
    let is_api = parts.uri.path().starts_with("/api/");
    let token = if is_api {
        bearer(parts).map(str::to_string)
    } else {
        CookieJar::from_headers(&parts.headers)
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_string())
    };
    let Some(token) = token else { return Ok(None) };
    let hash = token_hash(&token);
    if is_api && token.starts_with(APP_TOKEN_PREFIX) {
        return Ok(state
            .store
            .api_token_by_hash(&hash)
            .await?
            .map(Principal::Application));
    }
    let session = state.store.session(&hash).await?;
    let expected_kind = if is_api { "api" } else { "web" };
    Ok(session
        .filter(|s| s.kind == expected_kind)
        .map(|s| Principal::User {
            user: s.user,
            csrf_token: s.csrf_token,
        }))
}

/// The route a request matched, by its template (`/api/v1/data/{prefix}/{seq}/records/{key}`):
/// what logs and the audit trail name a request by, never its concrete path, which can
/// hold a citizen's ID number.
#[derive(Clone, Debug)]
pub struct RouteTemplate(pub String);

/// Route middleware (inside the router, where the route is known): a span naming the
/// route, and the route's template handed out on the response for [`authenticate`].
pub async fn remember_route(
    matched: Option<axum::extract::MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    use tracing::Instrument;
    let template = matched.map_or_else(|| "-".to_string(), |m| m.as_str().to_string());
    let span = tracing::info_span!("route", route = %template);
    let mut response = next.run(request).instrument(span).await;
    response.extensions_mut().insert(RouteTemplate(template));
    response
}

/// Middleware: request id, caller, and an audit record (in summary) for every refused
/// request.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let (mut parts, body) = request.into_parts();
    let meta = RequestMeta {
        // Time-ordered (UUIDv7), so that the access log's index on it grows at its end
        // rather than at random pages; from the thread's generator, since `new_v7` asks
        // the kernel for every id.
        request_id: uuid::Builder::from_unix_timestamp_millis(
            chrono::Utc::now().timestamp_millis().max(0) as u64,
            &rand::random(),
        )
        .into_uuid()
        .to_string(),
        source_ip: client_address(&parts, &state.config.trusted_proxies).map(|ip| ip.to_string()),
    };
    let principal = match resolve(&state, &parts).await {
        Ok(principal) => principal,
        Err(error) => return axum::response::IntoResponse::into_response(error),
    };
    let presented_credentials = bearer(&parts).is_some();
    parts.extensions.insert(meta.clone());
    if let Some(principal) = principal.clone() {
        parts.extensions.insert(principal);
    }
    let method = parts.method.clone();
    let span = tracing::info_span!("request", id = %meta.request_id, %method);
    let mut response = next
        .run(Request::from_parts(parts, body))
        .instrument(span)
        .await;
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        let reason = response
            .extensions_mut()
            .remove::<DeniedReason>()
            .map(|r| r.0)
            .unwrap_or_default();
        let detail = if presented_credentials && principal.is_none() {
            format!("无效或过期的令牌；{reason}")
        } else {
            reason
        };
        let route = response
            .extensions()
            .get::<RouteTemplate>()
            .map_or_else(|| "-".to_string(), |r| r.0.clone());
        let event = audit_context(principal.as_ref(), &meta).failure(
            &format!("http.{}", method.as_str().to_lowercase()),
            route,
            Outcome::Denied,
            detail,
        );
        if let Err(error) = state.store.record_denial(event).await {
            tracing::error!(%error, "could not audit a refused request");
        }
    }
    if let Ok(value) = meta.request_id.parse() {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Extractor: the signed-in caller, or 401.
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Auth)
            .ok_or_else(|| ApiError::Unauthorized("缺少或无效的身份凭证".into()))
    }
}

/// Extractor: request id and source address (always present behind the middleware).
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Meta(
            parts
                .extensions
                .get::<RequestMeta>()
                .cloned()
                .unwrap_or(RequestMeta {
                    request_id: "-".into(),
                    source_ip: None,
                }),
        ))
    }
}

/// Counts failed logins and refuses further attempts for a while, so that passwords
/// cannot be guessed online, without letting anyone lock an account for everyone:
/// failures count per account *and source address* (five wrong passwords lock that
/// account from that address only; the bureau still signs in from its office), and per
/// source address across accounts (one address cannot spray names).
#[derive(Default)]
pub struct LoginThrottle {
    by_account: Mutex<HashMap<(String, String), Failures>>,
    by_source: Mutex<HashMap<String, Failures>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// Wrong passwords for one account from one address before it waits.
const MAX_ACCOUNT_FAILURES: u32 = 5;
/// Failed logins from one address, whatever the account, before it waits.
const MAX_SOURCE_FAILURES: u32 = 20;
const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Entries kept before old ones are forgotten, so that the maps stay bounded.
const MAX_TRACKED: usize = 10_000;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not lock everyone out: recover the map from a poisoned lock.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn wait<K: std::hash::Hash + Eq>(map: &HashMap<K, Failures>, key: &K, max: u32) -> Option<u64> {
    let failures = map.get(key)?;
    let elapsed = failures.since.elapsed();
    (failures.count >= max && elapsed < LOCKOUT)
        .then(|| LOCKOUT.saturating_sub(elapsed).as_secs().max(1))
}

fn count<K: std::hash::Hash + Eq + Clone>(map: &mut HashMap<K, Failures>, key: &K) {
    if map.len() > MAX_TRACKED {
        map.retain(|_, f| f.since.elapsed() < LOCKOUT);
    }
    let entry = map.entry(key.clone()).or_insert(Failures {
        count: 0,
        since: Instant::now(),
    });
    if entry.since.elapsed() >= LOCKOUT {
        entry.count = 0;
    }
    entry.count += 1;
    entry.since = Instant::now();
}

impl LoginThrottle {
    fn account(username: &str, source: Option<&str>) -> (String, String) {
        (username.to_string(), source.unwrap_or("-").to_string())
    }

    /// Seconds to wait before another attempt for `username` from `source`, if any. An
    /// unknown source (a local socket) is not one address and has no limit of its own.
    pub fn check(&self, username: &str, source: Option<&str>) -> Option<u64> {
        let by_source =
            source.and_then(|s| wait(&lock(&self.by_source), &s.to_string(), MAX_SOURCE_FAILURES));
        let by_account = wait(
            &lock(&self.by_account),
            &Self::account(username, source),
            MAX_ACCOUNT_FAILURES,
        );
        by_source.max(by_account)
    }

    /// Counts an attempt as failed (before the password is checked, so that parallel
    /// guesses are counted too; a success takes it back).
    pub fn failed(&self, username: &str, source: Option<&str>) {
        count(
            &mut lock(&self.by_account),
            &Self::account(username, source),
        );
        if let Some(source) = source {
            count(&mut lock(&self.by_source), &source.to_string());
        }
    }

    /// Counts a failed attempt against the source only (a name no account can have).
    pub fn failed_source(&self, source: Option<&str>) {
        if let Some(source) = source {
            count(&mut lock(&self.by_source), &source.to_string());
        }
    }

    pub fn succeeded(&self, username: &str, source: Option<&str>) {
        lock(&self.by_account).remove(&Self::account(username, source));
        if let Some(failures) = source.and_then(|s| lock(&self.by_source).get_mut(s).copied()) {
            let remaining = Failures {
                count: failures.count.saturating_sub(1),
                ..failures
            };
            lock(&self.by_source).insert(source.unwrap_or_default().to_string(), remaining);
        }
    }
}

/// A hash to verify against when the user does not exist, so that the answer takes as
/// long as for a real user and does not reveal which usernames exist.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        hash_password_blocking("no such user, no such password").unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies_passwords() {
        let hash = hash_password("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash).await);
        assert!(!verify_password("wrong", &hash).await);
        assert!(!verify_password("x", "not a hash").await);
    }

    #[test]
    fn believes_forwarded_addresses_only_from_trusted_proxies() {
        let parts = |peer: &str, forwarded: &str| {
            let mut request = axum::http::Request::builder()
                .header("x-forwarded-for", forwarded)
                .body(())
                .unwrap();
            request
                .extensions_mut()
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
            request.into_parts().0
        };
        let proxy: Vec<ipnet::IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let ip = |p: &Parts| client_address(p, &proxy).unwrap().to_string();
        // A client behind the proxy, which appends the address it saw.
        assert_eq!(
            ip(&parts("10.0.0.5:443", "1.2.3.4, 198.51.100.7")),
            "198.51.100.7"
        );
        // Straight from the client: its own header is not believed.
        assert_eq!(ip(&parts("203.0.113.9:5000", "10.0.0.1")), "203.0.113.9");
        assert_eq!(
            client_address(&parts("10.0.0.5:1", "x"), &[])
                .unwrap()
                .to_string(),
            "10.0.0.5"
        );
    }

    #[test]
    fn throttles_an_account_per_source_and_a_source_across_accounts() {
        let throttle = LoginThrottle::default();
        let (attacker, office) = (Some("203.0.113.7"), Some("10.1.2.3"));
        for _ in 0..MAX_ACCOUNT_FAILURES {
            assert_eq!(throttle.check("admin", attacker), None);
            throttle.failed("admin", attacker);
        }
        assert!(throttle.check("admin", attacker).is_some());
        assert_eq!(
            throttle.check("admin", office),
            None,
            "not locked for everyone"
        );
        assert_eq!(throttle.check("other", attacker), None);
        throttle.succeeded("admin", attacker);
        assert_eq!(throttle.check("admin", attacker), None);
        for n in 0..MAX_SOURCE_FAILURES {
            throttle.failed(&format!("user{n}"), attacker);
        }
        assert!(
            throttle.check("anyone", attacker).is_some(),
            "a sprayer waits"
        );
        assert_eq!(throttle.check("anyone", office), None);
    }
}
