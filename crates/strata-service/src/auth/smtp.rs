//! The mailer's SMTP transport (`[mail] smtp_url`, `tls`, `ca_file`): implicit TLS (`smtps://`, RFC 8314 §3.3),
//! STARTTLS that must succeed (RFC 3207; a server that does not offer it gets no mail, so nobody on the path can
//! strip it), or plain SMTP. TLS runs on rustls with the crypto provider and certificate verifier reqwest uses:
//! the platform's roots, plus the CA certificates of `ca_file` for a private relay. Certificates are always
//! verified; no setting turns that off.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// `[mail] tls`: how the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// From the URL: `smtps://` is implicit TLS; `smtp://` is STARTTLS, required, except to a loopback address
    /// (a relay on the same machine), which gets plain SMTP.
    #[default]
    Auto,
    /// STARTTLS, required (default port 587).
    Starttls,
    /// Implicit TLS from the first byte (default port 465).
    Tls,
    /// Plain SMTP, nothing encrypted (default port 25): for a relay on a trusted network.
    None,
}

impl SmtpTls {
    /// The setting's value.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::Auto => "auto",
            SmtpTls::Starttls => "starttls",
            SmtpTls::Tls => "tls",
            SmtpTls::None => "none",
        }
    }
}

/// A transport for `smtp[s]://[user:password@]host[:port]` secured as `tls` says. The URL is never echoed: it
/// may hold a password.
pub(super) fn transport(
    text: &str,
    tls: SmtpTls,
    ca_file: Option<&Path>,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let url = url::Url::parse(text).map_err(|e| anyhow::anyhow!("[mail] smtp_url: {e}"))?;
    let implicit = match url.scheme() {
        "smtps" => true,
        "smtp" => false,
        _ => anyhow::bail!("[mail] smtp_url must start with smtp:// or smtps://"),
    };
    // smtp is not a special scheme (WHATWG URL), so an IPv4 address comes back as a domain.
    let host = match url.host() {
        Some(url::Host::Domain(name)) => name.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => anyhow::bail!("[mail] smtp_url names no host"),
    };
    let tls = resolve(tls, implicit, &host)?;
    let (security, default_port) = match tls {
        SmtpTls::Tls => (Tls::Wrapper(tls_parameters(&host, ca_file)?), 465),
        SmtpTls::Starttls => (Tls::Required(tls_parameters(&host, ca_file)?), 587),
        _ if ca_file.is_some() => {
            anyhow::bail!(
                "[mail] ca_file is set but the SMTP connection is not encrypted (tls = none)"
            )
        }
        _ => (Tls::None, 25),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(url.port().unwrap_or(default_port))
        .tls(security)
        .timeout(Some(SMTP_TIMEOUT));
    if !url.username().is_empty() {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        builder = builder.credentials(Credentials::new(
            decode(url.username()),
            decode(url.password().unwrap_or("")),
        ));
    }
    Ok(builder.build())
}

/// What `tls` means for a URL with (`smtps://`) or without implicit TLS to `host`.
fn resolve(tls: SmtpTls, implicit: bool, host: &str) -> anyhow::Result<SmtpTls> {
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    Ok(match (tls, implicit) {
        (SmtpTls::Auto, true) => SmtpTls::Tls,
        (SmtpTls::Auto, false) if loopback => SmtpTls::None,
        (SmtpTls::Auto, false) => SmtpTls::Starttls,
        (SmtpTls::Starttls | SmtpTls::None, true) => anyhow::bail!(
            "[mail] smtp_url is smtps:// (implicit TLS) but [mail] tls is `{}`",
            tls.as_str()
        ),
        (chosen, _) => chosen,
    })
}

/// Verify the server as `host` against the platform's roots and those of `ca_file`.
fn tls_parameters(host: &str, ca_file: Option<&Path>) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("[mail] ca_file {}: {e}", path.display()))?;
        if !pem
            .windows(b"-----BEGIN CERTIFICATE-----".len())
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            anyhow::bail!("[mail] ca_file {} holds no PEM certificate", path.display());
        }
        let certificate = Certificate::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("[mail] ca_file {}: {e}", path.display()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|e| anyhow::anyhow!("[mail] TLS for {host}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(url: &str, tls: SmtpTls, ca_file: Option<&Path>) -> String {
        transport(url, tls, ca_file)
            .err()
            .map(|e| e.to_string())
            .expect("refused")
    }

    #[test]
    fn smtp_and_smtps_urls_are_taken_with_every_tls_mode_that_fits() {
        for (url, tls) in [
            ("smtp://127.0.0.1:2525", SmtpTls::Auto),
            ("smtp://user:p%40ss@mail.example.com", SmtpTls::Auto),
            ("smtp://mail.example.com:587", SmtpTls::Starttls),
            ("smtp://relay.internal", SmtpTls::None),
            ("smtp://mail.example.com", SmtpTls::Tls),
            ("smtps://user:pw@mail.example.com", SmtpTls::Auto),
            ("smtps://[::1]:4650", SmtpTls::Tls),
        ] {
            assert!(transport(url, tls, None).is_ok(), "{url} with {tls:?}");
        }
    }

    #[test]
    fn auto_encrypts_everything_but_a_relay_on_this_machine() {
        for (implicit, host, expected) in [
            (true, "mail.example.com", SmtpTls::Tls),
            (true, "127.0.0.1", SmtpTls::Tls),
            (false, "mail.example.com", SmtpTls::Starttls),
            (false, "10.0.0.25", SmtpTls::Starttls),
            (false, "127.0.0.1", SmtpTls::None),
            (false, "127.8.9.10", SmtpTls::None),
            (false, "::1", SmtpTls::None),
            (false, "localhost", SmtpTls::None),
            (false, "localhost.example.com", SmtpTls::Starttls),
        ] {
            let resolved = resolve(SmtpTls::Auto, implicit, host).expect("resolved");
            assert_eq!(resolved, expected, "{host}, implicit: {implicit}");
        }
        assert_eq!(
            resolve(SmtpTls::Starttls, false, "127.0.0.1").expect("resolved"),
            SmtpTls::Starttls,
            "a chosen mode wins"
        );
    }

    #[test]
    fn contradictions_and_other_schemes_are_refused_without_echoing_the_url() {
        let other = refusal("ftp://user:hunter2@mail.example.com", SmtpTls::Auto, None);
        assert!(other.contains("smtp:// or smtps://"), "{other}");
        assert!(!other.contains("hunter2"));
        let downgrade = refusal("smtps://user:hunter2@mail.example.com", SmtpTls::None, None);
        assert!(downgrade.contains("implicit TLS"), "{downgrade}");
        assert!(!downgrade.contains("hunter2"));
        assert!(transport("not a url", SmtpTls::Auto, None).is_err());
        assert!(transport("smtp:relay", SmtpTls::Auto, None).is_err());
    }

    #[test]
    fn a_ca_file_must_exist_hold_certificates_and_go_with_tls() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.pem");
        let err = refusal("smtps://mail.example.com", SmtpTls::Auto, Some(&missing));
        assert!(err.contains("missing.pem"), "{err}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").expect("write");
        let err = refusal("smtps://mail.example.com", SmtpTls::Auto, Some(&junk));
        assert!(err.contains("no PEM certificate"), "{err}");
        let plain = refusal("smtp://relay.internal", SmtpTls::None, Some(&junk));
        assert!(plain.contains("not encrypted"), "{plain}");
    }
}
