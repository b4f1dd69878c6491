//! The mailer over TLS (SPEC §6 email flows; `[mail] tls` and `ca_file`): a password-reset link delivered by
//! implicit TLS and by required STARTTLS to a local TLS SMTP sink whose certificate a CA made for the test signs,
//! and the link works. A server certificate nobody trusts, and a server that does not offer STARTTLS, get no
//! mail: the failure is logged (never with the link), and the HTTP answer is the same 202 as ever.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use strata::settings::Secret;
use strata_service::auth::SmtpTls;
use tokio_rustls::TlsAcceptor;

use crate::email_flows::{ADA, PASSWORD, login};
use crate::helpers::{BLOG, Backend, TestApp, spawn_app_configured};
use crate::mail_sink::{SinkTls, SmtpSink};

/// A certificate authority made for one test.
struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// Its certificate as a PEM file under `dir`.
    fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("relay-ca.pem");
        std::fs::write(&path, &self.pem).unwrap();
        path
    }

    /// A TLS acceptor for 127.0.0.1 with a certificate this CA signed.
    fn acceptor(&self) -> TlsAcceptor {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }
}

/// A server on SQLite mailing to `sink`, secured as `tls` says, trusting `ca_file`.
async fn app_mailing_to(sink: &SmtpSink, tls: SmtpTls, ca_file: Option<PathBuf>) -> TestApp {
    let url = sink.url.clone();
    spawn_app_configured(Backend::Sqlite, BLOG, |s| {
        s.mail.smtp_url = Some(Secret::new(url));
        s.mail.tls = tls;
        s.mail.ca_file = ca_file;
        s.mail.link_base = Some("https://app.example".into());
    })
    .await
    .expect("SQLite needs no service")
}

async fn ask_for_a_reset(app: &TestApp) {
    let asked = app
        .post("/api/v1/auth/password/forgot", &json!({"email": ADA}))
        .await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    assert_eq!(asked.body, Value::Null);
}

/// Register Ada, have a reset link mailed through `sink`, follow it, and sign in with the new password.
async fn a_reset_link_arrives_and_works(app: &TestApp, sink: &SmtpSink) {
    app.register(ADA).await;
    ask_for_a_reset(app).await;
    let letter = sink.next_for(ADA).await;
    assert_eq!(letter.subject(), "Reset your password");
    assert!(
        letter
            .link()
            .unwrap()
            .starts_with("https://app.example/reset-password?token="),
        "{}",
        letter.data
    );
    let reset = app
        .post(
            "/api/v1/auth/password/reset",
            &json!({"token": letter.token(), "new_password": "a brand new secret"}),
        )
        .await;
    assert_eq!(reset.status, 204, "{}", reset.body);
    assert_eq!(login(app, ADA, PASSWORD).await.status, 401);
    assert_eq!(login(app, ADA, "a brand new secret").await.status, 200);
}

#[tokio::test]
async fn a_reset_link_arrives_over_implicit_tls_and_works() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Strata test relay CA");
    let sink = SmtpSink::start_with(Some(SinkTls::Implicit(ca.acceptor()))).await;
    assert!(sink.url.starts_with("smtps://"));
    let app = app_mailing_to(&sink, SmtpTls::Auto, Some(ca.write(dir.path()))).await;
    a_reset_link_arrives_and_works(&app, &sink).await;
}

#[tokio::test]
async fn a_reset_link_arrives_over_required_starttls_and_works() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Strata test relay CA");
    let sink = SmtpSink::start_with(Some(SinkTls::StartTls(ca.acceptor()))).await;
    let app = app_mailing_to(&sink, SmtpTls::Starttls, Some(ca.write(dir.path()))).await;
    a_reset_link_arrives_and_works(&app, &sink).await;
}

/// Every log line written on this thread (where the test's runtime runs the server) while the guard lives.
struct CapturedLogs {
    lines: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl CapturedLogs {
    fn start() -> CapturedLogs {
        #[derive(Clone)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(lines.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        CapturedLogs {
            lines,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// The first line containing `needle`; panics after 10 seconds without one.
    async fn line_with(&self, needle: &str) -> String {
        for _ in 0..200 {
            let text = String::from_utf8_lossy(&self.lines.lock().unwrap()).into_owned();
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no log line with `{needle}` within 10 s");
    }

    fn all(&self) -> String {
        String::from_utf8_lossy(&self.lines.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn an_untrusted_server_certificate_gets_no_mail_and_the_answer_is_unchanged() {
    let logs = CapturedLogs::start();
    // The relay's certificate comes from a CA the server was not told to trust.
    let stranger = TestCa::new("Nobody's CA");
    let sink = SmtpSink::start_with(Some(SinkTls::Implicit(stranger.acceptor()))).await;
    let app = app_mailing_to(&sink, SmtpTls::Auto, None).await;
    app.register(ADA).await;
    ask_for_a_reset(&app).await;
    let refused = sink.next_tls_failure().await;
    assert!(
        refused.to_lowercase().contains("alert"),
        "the client hung up the handshake: {refused}"
    );
    let logged = logs.line_with("an email flow failed").await;
    assert!(
        logged.to_lowercase().contains("certificate"),
        "the log says why: {logged}"
    );
    assert!(
        sink.nothing_for(ADA, Duration::from_millis(300)).await,
        "no mail"
    );
    assert!(!logs.all().contains("token="), "no link in the logs");
    // Nothing else changed: the account signs in as before.
    assert_eq!(login(&app, ADA, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_server_without_starttls_gets_no_mail_when_starttls_is_required() {
    let logs = CapturedLogs::start();
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink, SmtpTls::Starttls, None).await;
    app.register(ADA).await;
    ask_for_a_reset(&app).await;
    let logged = logs.line_with("an email flow failed").await;
    assert!(
        logged.contains("STARTTLS") || logged.contains("TLS"),
        "{logged}"
    );
    assert!(
        sink.nothing_for(ADA, Duration::from_millis(300)).await,
        "nothing went in plain text"
    );
}
