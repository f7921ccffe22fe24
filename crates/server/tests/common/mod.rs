//! `TestApp`: the real router over a fresh store, called without a socket.
#![allow(dead_code)]

pub mod matrix;
pub mod people;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use datahall_server::{router, AppState, ServerConfig};
use domain::account::Role;
use serde_json::Value;
use store::departments::Department;
use store::users::NewUser;
use store::{AuditContext, Store};
use testkit::fixtures;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub router: Router,
    pub store: Store,
    pub backend: &'static str,
    pub gaj: Department,
    pub mzj: Department,
    config: ServerConfig,
    _test_store: testkit::TestStore,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub json: Value,
    pub bytes: Vec<u8>,
}

impl TestApp {
    /// A platform with two departments (gaj, mzj) and the people of SPEC §5, all with
    /// the password `PASSWORD`.
    pub async fn new(test_store: testkit::TestStore, demo_mode: bool) -> Self {
        Self::new_with(test_store, demo_mode, |_| {}).await
    }

    /// As [`TestApp::new`], with the server's settings changed by `configure`.
    pub async fn new_with(
        test_store: testkit::TestStore,
        demo_mode: bool,
        configure: impl Fn(&mut ServerConfig),
    ) -> Self {
        let store = test_store.store.clone();
        let gaj = fixtures::department(&store, "gaj", 1).await;
        let mzj = fixtures::department(&store, "mzj", 2).await;
        let hash = datahall_server::auth::hash_password_blocking(PASSWORD).unwrap();
        let people = [
            ("admin", Role::Admin, None),
            ("auditor", Role::Auditor, None),
            ("gaj-chief", Role::Chief, Some(gaj.id)),
            ("gaj-staff", Role::Staff, Some(gaj.id)),
            ("mzj-chief", Role::Chief, Some(mzj.id)),
            ("mzj-staff", Role::Staff, Some(mzj.id)),
        ];
        for (username, role, department_id) in people {
            let new = NewUser {
                username: username.into(),
                display_name: "测试人员".into(),
                role,
                department_id,
                password_hash: hash.clone(),
            };
            store
                .create_user(&new, &AuditContext::system("test"))
                .await
                .unwrap();
        }
        let mut config = ServerConfig {
            demo_mode,
            secure_cookies: false,
            // Small, so that tests can cross it.
            max_upload_bytes: 1 << 20,
            secret_key: Some(
                collect::secret::SecretKey::from_base64(&collect::secret::SecretKey::generate())
                    .unwrap(),
            ),
            ..ServerConfig::default()
        };
        configure(&mut config);
        let router = router(AppState::new(store.clone(), config.clone()));
        TestApp {
            router,
            store,
            backend: test_store.backend,
            gaj,
            mzj,
            config,
            _test_store: test_store,
        }
    }

    /// The same platform with its access log journaled in `dir`, shipped to the database
    /// only when someone settles it (or at the next open).
    pub async fn journaled(mut self, dir: &std::path::Path) -> Self {
        let options = store::access_journal::JournalOptions {
            ship_every: std::time::Duration::from_secs(3600),
        };
        let journal = store::access_journal::Journal::open(dir, self.store.clone(), options)
            .await
            .unwrap();
        self.router = router(
            AppState::new(self.store.clone(), self.config.clone()).with_access_journal(journal),
        );
        self
    }

    pub async fn all(demo_mode: bool) -> Vec<TestApp> {
        Self::all_with(demo_mode, |_| {}).await
    }

    /// One app on every available backend, each configured by `configure`.
    pub async fn all_with(demo_mode: bool, configure: impl Fn(&mut ServerConfig)) -> Vec<TestApp> {
        let mut apps = Vec::new();
        for backend in testkit::backends().await {
            apps.push(TestApp::new_with(backend, demo_mode, &configure).await);
        }
        apps
    }

    pub async fn send(&self, request: Request<Body>) -> Response {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .unwrap()
            .to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            json,
            bytes,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => builder.body(Body::empty()).unwrap(),
        };
        self.send(request).await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Response {
        self.call(Method::GET, uri, Some(token), None).await
    }

    pub async fn post(&self, uri: &str, token: &str, body: Value) -> Response {
        self.call(Method::POST, uri, Some(token), Some(body)).await
    }

    pub async fn login(&self, username: &str) -> String {
        let response = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{}: login {username}: {}",
            self.backend,
            response.json
        );
        response.json["token"].as_str().unwrap().to_string()
    }

    /// Creates an entry as gaj-staff and walks it to `published`.
    pub async fn published_entry(&self, name: &str) -> String {
        self.publish(&fixtures::body(name)).await
    }

    /// Creates `body` as gaj-staff and walks it to `published`.
    pub async fn publish(&self, body: &domain::catalogue::ResourceBody) -> String {
        let staff = self.login("gaj-staff").await;
        let chief = self.login("gaj-chief").await;
        let admin = self.login("admin").await;
        let created = self
            .post(
                "/api/v1/resources",
                &staff,
                serde_json::to_value(body).unwrap(),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
        let code = created.json["code"].as_str().unwrap().to_string();
        for (token, action) in [(&staff, "submit"), (&chief, "sign"), (&admin, "publish")] {
            let r = self
                .post(
                    &format!("/api/v1/resources/{code}/workflow"),
                    token,
                    serde_json::json!({"action": action}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.json);
        }
        code
    }
}

/// Sources on this machine's test databases may be registered (the production default
/// allows no network until the bureau configures one).
pub fn allow_loopback_sources(config: &mut ServerConfig) {
    config.source_policy =
        collect::network::SourcePolicy::parse(&["127.0.0.0/8".into(), "::1/128".into()], vec![])
            .unwrap();
}

/// Asserts the error shape of SPEC §5 and returns the error object.
pub fn error_of(response: &Response, status: StatusCode) -> &Value {
    assert_eq!(response.status, status, "{}", response.json);
    let error = &response.json["error"];
    assert!(
        error["code"].is_string() && error["message"].is_string() && error["details"].is_array(),
        "error shape: {}",
        response.json
    );
    error
}
