//! A local SMTP sink for the email-flow tests: a TCP listener speaking just enough SMTP (RFC 5321: greeting,
//! EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) to take real messages from the server's
//! mailer and hand them to the test; and servers that mail to it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use strata::settings::Secret;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

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

/// The sink: its `smtp://` URL and what it has received.
pub struct SmtpSink {
    pub url: String,
    received: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("smtp://{}", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    // A client that hangs up mid-session leaves nothing behind.
                    let _ = session(stream, store).await;
                });
            }
        });
        SmtpSink { url, received }
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

    fn take(&self, to: &str) -> Option<Mail> {
        let mut received = self.received.lock().unwrap();
        let index = received.iter().position(|m| m.to.iter().any(|r| r == to))?;
        Some(received.remove(index))
    }
}

async fn session(stream: TcpStream, store: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut to = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
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
                write.write_all(b"354 end with .\r\n").await?;
                let mut data = String::new();
                while let Some(line) = lines.next_line().await? {
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
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
