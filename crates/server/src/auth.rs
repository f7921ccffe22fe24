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

/// Middleware: request id, caller, and an audit record for every refused request.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let meta = RequestMeta {
        // From the thread's generator: `new_v4` asks the kernel for every id.
        request_id: uuid::Builder::from_random_bytes(rand::random())
            .into_uuid()
            .to_string(),
        source_ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string()),
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
    let path = parts.uri.path().to_string();
    let span = tracing::info_span!("request", id = %meta.request_id, %method, %path);
    let mut response = {
        let _enter = span.enter();
        next.run(Request::from_parts(parts, body)).await
    };
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
        let event = audit_context(principal.as_ref(), &meta).failure(
            &format!("http.{}", method.as_str().to_lowercase()),
            path,
            Outcome::Denied,
            detail,
        );
        if let Err(error) = state.store.audit(event).await {
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

/// Counts failed logins per username and refuses further attempts for a while, so that
/// passwords cannot be guessed online.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

const MAX_FAILURES: u32 = 5;
const LOCKOUT: Duration = Duration::from_secs(15 * 60);

impl LoginThrottle {
    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        // A panic elsewhere must not lock everyone out: recover the map from a poisoned lock.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Seconds to wait before another attempt, if locked out.
    pub fn check(&self, username: &str) -> Option<u64> {
        let failures = self.failures();
        let (count, since) = failures.get(username)?;
        let elapsed = since.elapsed();
        (*count >= MAX_FAILURES && elapsed < LOCKOUT)
            .then(|| LOCKOUT.saturating_sub(elapsed).as_secs().max(1))
    }

    pub fn failed(&self, username: &str) {
        let mut failures = self.failures();
        // Forget old entries so that the map cannot grow without bound.
        if failures.len() > 10_000 {
            failures.retain(|_, (_, since)| since.elapsed() < LOCKOUT);
        }
        let entry = failures
            .entry(username.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= LOCKOUT {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
        entry.1 = Instant::now();
    }

    pub fn succeeded(&self, username: &str) {
        self.failures().remove(username);
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
    fn throttles_after_repeated_failures() {
        let throttle = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(throttle.check("admin"), None);
            throttle.failed("admin");
        }
        assert!(throttle.check("admin").is_some());
        assert_eq!(throttle.check("other"), None);
        throttle.succeeded("admin");
        assert_eq!(throttle.check("admin"), None);
    }
}
