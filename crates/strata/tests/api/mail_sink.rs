//! A local SMTP sink for the email-flow tests: a TCP listener speaking just enough SMTP (RFC 5321: greeting,
//! EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) to take real messages from the server's
//! mailer and hand them to the test, in plain text, behind implicit TLS or after STARTTLS (RFC 3207); and
//! servers that mail to it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use strata::settings::Secret;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::helpers::{BLOG, Backend, TestApp, spawn_app_configured};

/// A server mailing to a fresh SMTP sink, with links under `https://app.example`.
pub async fn mail_app(
    backend: Backend,
    require_verified_email: bool,
) -> Option<(TestApp, SmtpSink)> {
    let sink = SmtpSink::start().await;
    let url = sink.url.clone();
    let app = spawn_app_configured(backend, BLOG, |s| {
        s.mail.smtp_url = Some(Secret::new(url));
        s.mail.link_base = Some("https://app.example/".into());
        s.auth.require_verified_email = require_verified_email;
    })
    .await?;
    Some((app, sink))
}

/// One message as received.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    /// The message as sent after DATA: headers and body.
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|line| !line.is_empty())
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim())
    }

    pub fn subject(&self) -> &str {
        self.header("Subject").unwrap_or("")
    }

    /// The link in the body (the first `http…` word).
    pub fn link(&self) -> Option<&str> {
        self.data
            .split_whitespace()
            .find(|word| word.starts_with("http://") || word.starts_with("https://"))
    }

    /// The `token` query parameter of the link.
    pub fn token(&self) -> String {
        let link = self.link().expect("a link in the mail");
        link.split_once("token=")
            .map(|(_, t)| t.to_owned())
            .expect("a token in the link")
    }
}

/// How the sink secures its connections.
#[derive(Clone)]
pub enum SinkTls {
    /// TLS from the first byte (`smtps://`).
    Implicit(TlsAcceptor),
    /// Plain until the client says STARTTLS, which the sink offers.
    StartTls(TlsAcceptor),
}

/// The sink: its `smtp://` (or `smtps://`) URL, what it has received, and the TLS handshakes that failed.
pub struct SmtpSink {
    pub url: String,
    received: Arc<Mutex<Vec<Mail>>>,
    tls_failures: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    /// A plain SMTP sink.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_with(None).await
    }

    /// A sink that speaks SMTP as `tls` says, or in plain text.
    pub async fn start_with(tls: Option<SinkTls>) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let scheme = match tls {
            Some(SinkTls::Implicit(_)) => "smtps",
            _ => "smtp",
        };
        let url = format!("{scheme}://{}", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let tls_failures = Arc::new(Mutex::new(Vec::new()));
        let (store, failures) = (received.clone(), tls_failures.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, failures, tls) = (store.clone(), failures.clone(), tls.clone());
                tokio::spawn(async move {
                    // A client that hangs up mid-session leaves nothing behind.
                    let _ = connection(stream, tls, store, failures).await;
                });
            }
        });
        SmtpSink {
            url,
            received,
            tls_failures,
        }
    }

    /// The next message to `to`, taken from the sink; panics after 10 seconds without one.
    pub async fn next_for(&self, to: &str) -> Mail {
        for _ in 0..200 {
            if let Some(mail) = self.take(to) {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} within 10 s");
    }

    /// Whether no message to `to` arrives within `wait`.
    pub async fn nothing_for(&self, to: &str, wait: Duration) -> bool {
        tokio::time::sleep(wait).await;
        self.take(to).is_none()
    }

    /// The first TLS handshake that failed, as the sink saw it; panics after 10 seconds without one.
    pub async fn next_tls_failure(&self) -> String {
        for _ in 0..200 {
            if let Some(failure) = self.tls_failures.lock().unwrap().pop() {
                return failure;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no failed TLS handshake within 10 s");
    }

    fn take(&self, to: &str) -> Option<Mail> {
        let mut received = self.received.lock().unwrap();
        let index = received.iter().position(|m| m.to.iter().any(|r| r == to))?;
        Some(received.remove(index))
    }
}

type Received = Arc<Mutex<Vec<Mail>>>;

async fn connection(
    stream: TcpStream,
    tls: Option<SinkTls>,
    store: Received,
    failures: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let handshake = |acceptor: TlsAcceptor, stream: TcpStream| {
        let failures = failures.clone();
        async move {
            acceptor.accept(stream).await.inspect_err(|e| {
                failures.lock().unwrap().push(e.to_string());
            })
        }
    };
    match tls {
        None => {
            let mut plain = BufReader::new(stream);
            plain.get_mut().write_all(GREETING).await?;
            session(&mut plain, &store, false).await?;
        }
        Some(SinkTls::Implicit(acceptor)) => {
            let mut secured = BufReader::new(handshake(acceptor, stream).await?);
            secured.get_mut().write_all(GREETING).await?;
            session(&mut secured, &store, false).await?;
        }
        Some(SinkTls::StartTls(acceptor)) => {
            let mut plain = BufReader::new(stream);
            plain.get_mut().write_all(GREETING).await?;
            if session(&mut plain, &store, true).await? == Ended::StartTls {
                // RFC 3207 §4.2: no greeting after the handshake; the client starts over with EHLO.
                let mut secured = BufReader::new(handshake(acceptor, plain.into_inner()).await?);
                session(&mut secured, &store, false).await?;
            }
        }
    }
    Ok(())
}

const GREETING: &[u8] = b"220 sink ESMTP\r\n";

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Quit,
    StartTls,
}

/// One SMTP conversation; with `offer_starttls`, EHLO offers STARTTLS and the conversation ends when the client
/// takes it up.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    store: &Received,
    offer_starttls: bool,
) -> std::io::Result<Ended> {
    let mut to = Vec::new();
    while let Some(line) = next_line(stream).await? {
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if offer_starttls => b"250-sink\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            "STAR" if offer_starttls => {
                stream.get_mut().write_all(b"220 ready for TLS\r\n").await?;
                return Ok(Ended::StartTls);
            }
            "HELO" | "MAIL" | "NOOP" => b"250 OK\r\n",
            "RSET" => {
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                let address = line
                    .split_once('<')
                    .and_then(|(_, rest)| rest.split_once('>'))
                    .map(|(address, _)| address.to_owned())
                    .unwrap_or_default();
                to.push(address);
                b"250 OK\r\n"
            }
            "DATA" => {
                stream.get_mut().write_all(b"354 end with .\r\n").await?;
                let mut data = String::new();
                while let Some(line) = next_line(stream).await? {
                    if line == "." {
                        break;
                    }
                    // RFC 5321 §4.5.2: a leading dot was doubled by the sender.
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push('\n');
                }
                store.lock().unwrap().push(Mail {
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 queued\r\n"
            }
            "QUIT" => {
                stream.get_mut().write_all(b"221 bye\r\n").await?;
                return Ok(Ended::Quit);
            }
            _ => b"502 not implemented\r\n",
        };
        stream.get_mut().write_all(reply).await?;
    }
    Ok(Ended::Quit)
}

/// The next line without its line ending; `None` at the end of the stream.
async fn next_line<S: AsyncRead + Unpin>(
    stream: &mut BufReader<S>,
) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}
