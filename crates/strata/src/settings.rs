//! Settings (SPEC §2), layered: defaults < `strata.toml` < `STRATA_SECTION__KEY` environment < flags. Secrets
//! (database URLs with passwords, admin passwords) never reach a log: their `Debug` is redacted.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};
use strata_service::auth::{OAuthProviderSettings, SmtpTls, TotpKeySource};

/// A value that must not be logged.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub admin: AdminSettings,
    pub mail: MailSettings,
}

/// `[mail]`: how the email flows send mail (SPEC §6).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MailSettings {
    /// `smtp://[user:password@]host[:port]` or `smtps://…`; without it, mail is written to `{data_dir}/mail/`.
    pub smtp_url: Option<Secret>,
    /// `auto` (default: `smtps://` is implicit TLS, `smtp://` is required STARTTLS, plain only to a loopback
    /// address), `starttls`, `tls` or `none`.
    pub tls: SmtpTls,
    /// A PEM file of CA certificates trusted besides the system's, for a relay with a private CA.
    pub ca_file: Option<PathBuf>,
    /// `From:` of every mail; default `Strata <noreply@localhost>`.
    pub from: Option<String>,
    /// What links in mails start with; default the server's URL.
    pub link_base: Option<String>,
}

/// `[auth]` (SPEC §2, §14).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    pub allow_registration: bool,
    #[serde(with = "duration")]
    pub access_token_ttl: Duration,
    #[serde(with = "duration")]
    pub refresh_token_ttl: Duration,
    /// `iss` of access tokens; default the server's URL.
    pub issuer: Option<String>,
    #[serde(with = "duration")]
    pub refresh_reuse_interval: Duration,
    #[serde(with = "duration")]
    pub revocation_poll: Duration,
    /// Argon2id memory in KiB, iterations and lanes.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Whether session cookies carry `Secure` (turn off only for plain-HTTP development).
    pub cookie_secure: bool,
    /// A cookie session's whole life, and how long it may sit unused before it ends.
    #[serde(with = "duration")]
    pub session_ttl: Duration,
    #[serde(with = "duration")]
    pub session_idle_ttl: Duration,
    /// Registration answers 202 and mails a verification link; sign-in waits for a verified address.
    pub require_verified_email: bool,
    /// Base64 of the 32-byte key that seals TOTP secrets; default a key file `{data_dir}/totp.key`. Instances
    /// sharing a database must share it.
    pub totp_key: Option<Secret>,
    /// Where OAuth2 sign-in may send the browser back to: `redirect_to` must equal one.
    pub redirect_urls: Vec<String>,
    /// `[auth.oauth2.NAME]` sign-in providers (SPEC §14).
    pub oauth2: BTreeMap<String, OAuthProviderSettings>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        let policy = strata_auth::PasswordPolicy::default();
        AuthSettings {
            allow_registration: true,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            issuer: None,
            refresh_reuse_interval: Duration::from_secs(10),
            revocation_poll: Duration::from_secs(1),
            argon2_memory_kib: policy.memory_kib,
            argon2_iterations: policy.iterations,
            argon2_parallelism: policy.parallelism,
            cookie_secure: true,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            session_idle_ttl: Duration::from_secs(7 * 24 * 3600),
            require_verified_email: false,
            totp_key: None,
            redirect_urls: Vec::new(),
            oauth2: BTreeMap::new(),
        }
    }
}

/// `[admin]`: an admin account created on first start (SPEC §6).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminSettings {
    pub email: Option<String>,
    pub password: Option<Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    pub addr: String,
    #[serde(deserialize_with = "bytes", serialize_with = "ser_bytes")]
    pub body_limit: usize,
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH`, `postgres://…` or `mysql://…`; default `sqlite://{data_dir}/data.db`.
    pub url: Option<Secret>,
    pub max_connections: Option<u32>,
    #[serde(with = "duration")]
    pub statement_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./strata_data"),
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            auth: AuthSettings::default(),
            admin: AdminSettings::default(),
            mail: MailSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            addr: "127.0.0.1:8080".into(),
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: None,
            max_connections: None,
            statement_timeout: Duration::from_secs(5),
        }
    }
}

impl Settings {
    /// Defaults, then the config file (if any), then `STRATA_…` environment variables.
    pub fn load(config: Option<&Path>) -> Result<Settings, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
            .merge(Env::prefixed("STRATA_").split("__"))
            .extract()
            .map_err(Box::new)
    }

    /// The auth service's configuration.
    pub fn auth_config(&self) -> strata_service::auth::AuthConfig {
        let a = &self.auth;
        strata_service::auth::AuthConfig {
            issuer: a
                .issuer
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.server.addr)),
            access_ttl: a.access_token_ttl,
            refresh_ttl: a.refresh_token_ttl,
            reuse_interval: a.refresh_reuse_interval,
            revocation_poll: a.revocation_poll,
            allow_registration: a.allow_registration,
            password: strata_auth::PasswordPolicy {
                memory_kib: a.argon2_memory_kib,
                iterations: a.argon2_iterations,
                parallelism: a.argon2_parallelism,
            },
            cookie_secure: a.cookie_secure,
            session_ttl: a.session_ttl,
            session_idle_ttl: a.session_idle_ttl,
            require_verified_email: a.require_verified_email,
            mail: self.mail_config(),
            totp_key: match &a.totp_key {
                Some(key) => TotpKeySource::Configured(key.expose().to_owned()),
                None => TotpKeySource::File(self.data_dir.join("totp.key")),
            },
            oauth: strata_service::auth::OAuthConfig {
                providers: a.oauth2.clone().into_iter().collect(),
                redirect_urls: a.redirect_urls.clone(),
            },
        }
    }

    /// The mailer's configuration: SMTP when configured, else files under `{data_dir}/mail/`.
    fn mail_config(&self) -> strata_service::auth::MailConfig {
        let m = &self.mail;
        let defaults = strata_service::auth::MailConfig::default();
        strata_service::auth::MailConfig {
            smtp_url: m.smtp_url.as_ref().map(|url| url.expose().to_owned()),
            tls: m.tls,
            ca_file: m.ca_file.clone(),
            from: m.from.clone().unwrap_or(defaults.from),
            link_base: m
                .link_base
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.server.addr)),
            dir: self.data_dir.join("mail"),
        }
    }

    /// The database URL, defaulting to the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("data.db").display()),
        }
    }
}

/// `"1MiB"`, `"512KiB"`, `"2MB"`, `"1048576"`.
pub fn parse_bytes(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: usize = number.parse().ok()?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" | "k" => 1000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

fn bytes<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(usize),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(s) => parse_bytes(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a size like \"1MiB\""))),
    }
}

fn ser_bytes<S: serde::Serializer>(n: &usize, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(*n as u64)
}

mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!("`{s}` is not a duration like \"30s\": {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes_read_with_binary_and_decimal_units() {
        assert_eq!(parse_bytes("1MiB"), Some(1 << 20));
        assert_eq!(parse_bytes("512KiB"), Some(512 << 10));
        assert_eq!(parse_bytes("2MB"), Some(2_000_000));
        assert_eq!(parse_bytes("100"), Some(100));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("1PiB"), None);
    }
}

#[cfg(test)]
mod layering {
    use std::path::{Path, PathBuf};

    use strata_service::auth::SmtpTls;

    use super::Settings;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type.
    fn the_environment_overrides_the_file_which_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "strata.toml",
                "data_dir = \"/from/file\"\n[server]\naddr = \"127.0.0.1:1111\"\nbody_limit = \"2MiB\"\n[database]\nstatement_timeout = \"2s\"\n[collections.posts]\nfields.title = { type = \"text\" }\n",
            )?;
            let path = std::path::Path::new("strata.toml");
            let from_file = Settings::load(Some(path)).map_err(|e| *e)?;
            assert_eq!(from_file.server.addr, "127.0.0.1:1111");
            assert_eq!(from_file.server.body_limit, 2 << 20);
            assert_eq!(
                from_file.database.statement_timeout,
                std::time::Duration::from_secs(2)
            );
            assert_eq!(
                from_file.server.request_timeout,
                std::time::Duration::from_secs(30),
                "a default"
            );
            assert_eq!(from_file.database_url(), "sqlite:///from/file/data.db");

            jail.set_env("STRATA_SERVER__ADDR", "127.0.0.1:2222");
            jail.set_env("STRATA_DATA_DIR", "/from/env");
            jail.set_env("STRATA_DATABASE__URL", "postgres://u:secret@db/app");
            let from_env = Settings::load(Some(path)).map_err(|e| *e)?;
            assert_eq!(from_env.server.addr, "127.0.0.1:2222");
            assert_eq!(from_env.data_dir, std::path::PathBuf::from("/from/env"));
            assert_eq!(from_env.database_url(), "postgres://u:secret@db/app");
            assert!(
                !format!("{from_env:?}").contains("secret"),
                "secrets never reach Debug output"
            );
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type.
    fn mail_tls_reads_from_file_and_environment_and_refuses_unknown_modes() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "strata.toml",
                "[mail]\nsmtp_url = \"smtp://u:pw@mail.example.com\"\ntls = \"none\"\n",
            )?;
            let path = Some(Path::new("strata.toml"));
            assert_eq!(Settings::default().mail.tls, SmtpTls::Auto);
            let from_file = Settings::load(path).map_err(|e| *e)?;
            assert_eq!(from_file.mail.tls, SmtpTls::None);
            jail.set_env("STRATA_MAIL__TLS", "starttls");
            jail.set_env("STRATA_MAIL__CA_FILE", "/etc/relay-ca.pem");
            let from_env = Settings::load(path).map_err(|e| *e)?;
            let mail = from_env.auth_config().mail;
            assert_eq!(mail.tls, SmtpTls::Starttls);
            assert_eq!(mail.ca_file, Some(PathBuf::from("/etc/relay-ca.pem")));
            jail.set_env("STRATA_MAIL__TLS", "maybe");
            assert!(Settings::load(path).is_err(), "an unknown mode is refused");
            Ok(())
        });
    }
}
