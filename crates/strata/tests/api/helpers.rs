//! Starting the real server on port 0 against a fresh database per test, and talking HTTP to it.

use std::sync::Once;

use serde_json::Value;
use strata::settings::{Secret, Settings};
use strata::startup::Application;
use strata_core::schema::Schema;

/// The stores the API tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

/// The schema most tests use: public posts with a relation to public authors, and a locked collection.
pub const BLOG: &str = r#"
[collections.authors]
fields.name  = { type = "text", required = true, max_length = 100 }
fields.email = { type = "email", unique = true }
rules.list = "true"
rules.view = "true"
rules.create = "true"
rules.update = "true"
rules.delete = "true"

[collections.posts]
fields.title     = { type = "text", required = true, max_length = 200 }
fields.slug      = { type = "text", unique = true, max_length = 100, pattern = "^[a-z0-9-]+$" }
fields.body      = { type = "text", max_length = 100000 }
fields.status    = { type = "select", options = ["draft", "published"], default = "draft" }
fields.views     = { type = "integer", min = 0, default = 0 }
fields.score     = { type = "number", min = -10.5, max = 10.5 }
fields.featured  = { type = "boolean", default = false }
fields.published = { type = "datetime" }
fields.day       = { type = "date" }
fields.contact   = { type = "email" }
fields.link      = { type = "url" }
fields.ref       = { type = "uuid" }
fields.tags      = { type = "json", schema = { type = "array", items = { type = "string" } } }
fields.author    = { type = "relation", collection = "authors", on_delete = "cascade" }
fields.secret    = { type = "text", hidden = true }
fields.rank      = { type = "integer", read_only = true, default = 1 }
rules.list   = "true"
rules.view   = "true"
rules.create = "true"
rules.update = "true"
rules.delete = "true"

[collections.comments]
fields.post = { type = "relation", collection = "posts", required = true, on_delete = "restrict" }
fields.text = { type = "text", required = true, max_length = 500 }
rules.list   = "true"
rules.view   = "true"
rules.create = "true"
rules.delete = "true"

[collections.vault]
fields.note = { type = "text" }
"#;

/// The admin every test server starts with (`[admin]` on first start).
pub const ADMIN_EMAIL: &str = "root@example.com";
pub const ADMIN_PASSWORD: &str = "admin password";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    /// The database the server uses.
    pub database_url: String,
    /// The schema it serves, as `strata.toml` text.
    pub schema: String,
    _data: tempfile::TempDir,
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            // The guard lives as long as the test process.
            std::mem::forget(strata::telemetry::init("info"));
        }
    });
}

fn require_services() -> bool {
    std::env::var("STRATA_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// A fresh PostgreSQL or MariaDB/MySQL database for one test, as a URL; `None` (skip) when the server is
/// unreachable, unless `STRATA_REQUIRE_SERVICES=1`. `STRATA_TEST_POSTGRES_URL`/`STRATA_TEST_MYSQL_URL` name
/// other servers.
pub async fn fresh_database(backend: Backend) -> Option<String> {
    let (variable, default, admin_db) = match backend {
        Backend::Postgres => (
            "STRATA_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432",
            "/postgres",
        ),
        Backend::Mysql => ("STRATA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306", ""),
        Backend::Sqlite => return None,
    };
    let server = std::env::var(variable).unwrap_or_else(|_| default.into());
    let name = format!("strata_api_{}", uuid::Uuid::now_v7().simple());
    let admin = format!("{server}{admin_db}");
    let create = sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"));
    let created = match backend {
        Backend::Postgres => match sqlx::postgres::PgPool::connect(&admin).await {
            Ok(pool) => sqlx::query(create).execute(&pool).await.map(|_| ()),
            Err(e) => Err(e),
        },
        _ => match sqlx::mysql::MySqlPool::connect(&admin).await {
            Ok(pool) => sqlx::query(create).execute(&pool).await.map(|_| ()),
            Err(e) => Err(e),
        },
    };
    match created {
        Ok(()) => Some(format!("{server}/{name}")),
        Err(e) if !require_services() => {
            eprintln!("skipping: {backend:?} is unreachable at {server}: {e}");
            None
        }
        Err(e) => {
            panic!("{backend:?} is required (STRATA_REQUIRE_SERVICES=1) but unreachable: {e}")
        }
    }
}

/// Start the real server on port 0 with `schema` on a fresh database of `backend`.
pub async fn spawn_app_with(backend: Backend, schema: &str) -> Option<TestApp> {
    spawn_app_configured(backend, schema, |_| {}).await
}

/// Like [`spawn_app_with`], with settings adjusted by `configure`.
pub async fn spawn_app_configured(
    backend: Backend,
    schema: &str,
    configure: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    init_logs();
    let data = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        data_dir: data.path().to_owned(),
        ..Settings::default()
    };
    settings.server.addr = "127.0.0.1:0".into();
    settings.server.body_limit = 64 * 1024;
    settings.admin.email = Some(ADMIN_EMAIL.into());
    settings.admin.password = Some(Secret::new(ADMIN_PASSWORD));
    // Cheap password hashing keeps the tests fast; production defaults are OWASP's.
    settings.auth.argon2_memory_kib = 256;
    settings.auth.argon2_iterations = 1;
    match backend {
        Backend::Sqlite => {}
        Backend::Postgres | Backend::Mysql => {
            settings.database.url = Some(Secret::new(fresh_database(backend).await?))
        }
    }
    configure(&mut settings);
    let database_url = settings.database_url();
    let schema_source = schema.to_owned();
    let schema = Schema::from_toml(schema).expect("valid test schema");
    let app = Application::build(settings, schema)
        .await
        .expect("the server builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    Some(TestApp {
        address,
        client: reqwest::Client::new(),
        backend,
        database_url,
        schema: schema_source,
        _data: data,
    })
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, BLOG).await
}

/// A response read whole: status, headers and the JSON body (or Null).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `code` of a problem body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.patch(self.url(path)).json(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.put(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.client.delete(self.url(path))).await
    }

    /// Send with a bearer token.
    pub async fn send_as(&self, token: &str, request: reqwest::RequestBuilder) -> Reply {
        self.send(request.bearer_auth(token)).await
    }

    /// Register a user and return the sign-in answer's `data` (user, access_token, refresh_token…).
    pub async fn register(&self, email: &str) -> Value {
        let reply = self
            .post(
                "/api/v1/auth/register",
                &serde_json::json!({"email": email, "password": "correct horse"}),
            )
            .await;
        assert_eq!(reply.status, 201, "register {email}: {}", reply.body);
        reply.body["data"].clone()
    }

    /// Create a record and return its body's `data`.
    pub async fn create(&self, collection: &str, body: Value) -> Value {
        let reply = self.post(&format!("/api/v1/{collection}"), &body).await;
        assert_eq!(reply.status, 201, "create {collection}: {}", reply.body);
        reply.body["data"].clone()
    }
}

/// Run a test body on every backend: `on_backends!(name)` makes `name::sqlite`, `name::postgres` and
/// `name::mysql` from `async fn name(app: TestApp)`.
#[macro_export]
macro_rules! on_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::helpers::{Backend, spawn_app};

                #[tokio::test]
                async fn sqlite() {
                    if let Some(app) = spawn_app(Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(app) = spawn_app(Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }

                #[tokio::test]
                async fn mysql() {
                    if let Some(app) = spawn_app(Backend::Mysql).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

/// Like [`on_backends!`], with the server serving `SCHEMA`, a constant in scope where the macro is used:
/// `on_backends_with!(SCHEMA; name)`.
#[macro_export]
macro_rules! on_backends_with {
    ($schema:ident; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::helpers::{Backend, spawn_app_with};

                async fn run(backend: Backend) {
                    if let Some(app) = spawn_app_with(backend, super::$schema).await {
                        super::$name(app).await;
                    }
                }

                #[tokio::test]
                async fn sqlite() {
                    run(Backend::Sqlite).await
                }

                #[tokio::test]
                async fn postgres() {
                    run(Backend::Postgres).await
                }

                #[tokio::test]
                async fn mysql() {
                    run(Backend::Mysql).await
                }
            }
        )*
    };
}

/// `name::sqlite`, `name::postgres`, `name::mysql` from `async fn name(backend: Backend)`, for tests that start
/// their own server (an SMTP sink, an OpenID Provider).
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::helpers::Backend;

                #[tokio::test]
                async fn sqlite() {
                    super::$name(Backend::Sqlite).await;
                }

                #[tokio::test]
                async fn postgres() {
                    super::$name(Backend::Postgres).await;
                }

                #[tokio::test]
                async fn mysql() {
                    super::$name(Backend::Mysql).await;
                }
            }
        )*
    };
}
