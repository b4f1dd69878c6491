//! Black-box API tests: the real server on port 0, a fresh database per test, real HTTP (SPEC §4, §5).
#![allow(clippy::unwrap_used)]

mod accounts;
mod api_key_scopes;
mod api_keys;
mod auth;
mod authz;
mod batch;
mod database;
mod email_flows;
mod email_verification;
mod errors;
mod explain;
mod field_rules;
mod filter_errors;
mod health;
mod helpers;
mod idempotency;
mod leaks;
mod list;
mod mail_sink;
mod mail_tls;
mod mfa;
mod mfa_session;
mod oauth;
mod oauth_fake;
mod oauth_github;
mod oauth_google;
mod oauth_presets;
mod outbox;
mod password_change;
mod records;
mod relation_read_rules;
mod sessions;
mod token_endpoint;
mod tokens;
