//! Security headers on every answer (GB/T 22239 8.1.4; OWASP's secure headers). Pages
//! load only the binary's own stylesheet and run no script, so the content security
//! policy forbids every inline and outside source; no page may be framed (clickjacking of
//! one-click buttons such as 发布 or 同意); no answer may be sniffed into another type;
//! nothing but static assets may be cached, since pages and API answers carry personal
//! data; and over HTTPS the browser is told to stay on HTTPS.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn secure(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    // Only a served asset may be cached: a 404 under /static/ is a page of the platform,
    // drawn with the signed-in person's name.
    let is_static = is_static && response.status().is_success();
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(
        headers,
        axum::http::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    set(
        headers,
        axum::http::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if !is_static {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    if state.config.secure_cookies {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}
