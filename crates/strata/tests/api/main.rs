//! Black-box API tests: the real server on port 0, a fresh database per test, real HTTP (SPEC §4, §5).
#![allow(clippy::unwrap_used)]

mod auth;
mod authz;
mod batch;
mod errors;
mod health;
mod helpers;
mod idempotency;
mod list;
mod records;
