//! Outgoing mail of the email flows (SPEC §6): SMTP through lettre when `[mail] smtp_url` is set (secured as
//! [`smtp`](super::smtp) says), else a file mailer that writes each message as an `.eml` file under
//! `{data_dir}/mail/`, where a developer (or a test) reads it. Either way one log line names the recipient and
//! subject, never the message's link or token.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context as _;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use strata_core::Error;

use super::smtp::{self, SmtpTls};

/// `[mail]` settings.
#[derive(Clone)]
pub struct MailConfig {
    /// `smtp[s]://[user:password@]host[:port]`; without it, mail is written to `dir`.
    pub smtp_url: Option<String>,
    /// How the SMTP connection is secured.
    pub tls: SmtpTls,
    /// PEM certificates trusted besides the platform's roots (a private relay's CA).
    pub ca_file: Option<PathBuf>,
    /// `From:` of every message, `Name <address>` or a bare address.
    pub from: String,
    /// What links in mails start with: `{link_base}/verify-email?token=…`, `{link_base}/reset-password?token=…`.
    pub link_base: String,
    /// Where the file mailer writes.
    pub dir: PathBuf,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            tls: SmtpTls::Auto,
            ca_file: None,
            from: "Strata <noreply@localhost>".into(),
            link_base: "http://127.0.0.1:8080".into(),
            dir: PathBuf::from("./strata_data/mail"),
        }
    }
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The SMTP URL may hold a password.
        f.debug_struct("MailConfig")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "[redacted]"))
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .field("from", &self.from)
            .field("link_base", &self.link_base)
            .field("dir", &self.dir)
            .finish()
    }
}

/// One plain-text message.
#[derive(Clone)]
pub struct Letter {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Sends letters by SMTP or writes them to files.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

impl Mailer {
    /// The mailer `config` asks for; a bad `from` or SMTP URL is refused at start.
    pub fn new(config: &MailConfig) -> Result<Mailer, Error> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| Error::internal(anyhow::anyhow!("[mail] from `{}`: {e}", config.from)))?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                smtp::transport(url, config.tls, config.ca_file.as_deref())
                    .map_err(Error::internal)?,
            ),
            None => Transport::Files(config.dir.clone()),
        };
        Ok(Mailer { from, transport })
    }

    /// Send (or write) one letter.
    pub async fn send(&self, letter: Letter) -> anyhow::Result<()> {
        let to: Mailbox = letter
            .to
            .parse()
            .with_context(|| "the recipient is not an address")?;
        // RFC 5322 §3.6.4: a unique Message-ID, at the sender's domain.
        let message_id = format!(
            "<{}@{}>",
            uuid::Uuid::now_v7().simple(),
            self.from.email.domain()
        );
        let message = Message::builder()
            .message_id(Some(message_id))
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(body(letter.text))
            .context("building the message")?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("sending by SMTP")?;
                tracing::info!(to = %letter.to, subject = %letter.subject, "mail sent");
            }
            Transport::Files(dir) => {
                let path = write_file(dir.clone(), message.formatted()).await?;
                tracing::info!(
                    to = %letter.to,
                    subject = %letter.subject,
                    path = %path.display(),
                    "mail written"
                );
            }
        }
        Ok(())
    }
}

/// Plain ASCII text goes as RFC 2045 `7bit` (lines up to 998 octets), so a link stays whole and readable in the
/// raw message; lettre alone would quote-print any line past 76 characters, as a link with its token is. Other
/// text is left to lettre, which picks quoted-printable or base64.
fn body(text: String) -> Body {
    let seven_bit = text.bytes().all(|b| b.is_ascii() && b != 0 && b != b'\r')
        && text.lines().all(|line| line.len() <= 998);
    if seven_bit {
        let crlf = text.replace('\n', "\r\n");
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text)
    }
}

/// Write a message under `dir` as `<uuid v7>.eml` (so names sort by time), whole or not at all.
async fn write_file(dir: PathBuf, bytes: Vec<u8>) -> anyhow::Result<PathBuf> {
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let name = uuid::Uuid::now_v7().simple().to_string();
        let partial = dir.join(format!(".{name}.tmp"));
        let path = dir.join(format!("{name}.eml"));
        std::fs::write(&partial, bytes)
            .with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &path)
            .with_context(|| format!("renaming to {}", path.display()))?;
        Ok(path)
    })
    .await
    .context("the mail writer stopped")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_file_mailer_writes_one_eml_per_letter() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mailer = Mailer::new(&MailConfig {
            dir: dir.path().join("mail"),
            ..MailConfig::default()
        })
        .expect("mailer");
        mailer
            .send(Letter {
                to: "ada@example.com".into(),
                subject: "Hello".into(),
                text: format!(
                    "Line one\nhttp://x.example/verify-email?token={}",
                    "a".repeat(80)
                ),
            })
            .await
            .expect("sent");
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
        let text = std::fs::read_to_string(&files[0]).expect("read");
        assert!(text.contains("To: ada@example.com"), "{text}");
        assert!(text.contains("Subject: Hello"), "{text}");
        assert!(text.contains("Content-Transfer-Encoding: 7bit"), "{text}");
        assert!(text.contains("Message-ID: <"), "{text}");
        assert!(
            text.contains(&format!(
                "\r\nhttp://x.example/verify-email?token={}",
                "a".repeat(80)
            )),
            "the link is whole: {text}"
        );
    }
}
