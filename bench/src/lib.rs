//! Strata's benchmark harness (SPEC §13). The `ceiling` binary is a bare axum server and the `baseline` binary a
//! hand-written axum+sqlx server doing Strata's queries on PostgreSQL and MySQL; the `bench` binary drives them
//! and Strata, one at a time, with the same load and writes the table. This library holds what both share and
//! what the driver is made of, so that each piece can be tested on its own.

pub mod auth;
pub mod baseline;
pub mod cli;
pub mod launch;
pub mod load;
pub mod posts;
pub mod prepare;
pub mod provenance;
pub mod report;
pub mod run;
pub mod seed;
pub mod server;
pub mod setup;
pub mod shutdown;
pub mod startup;
pub mod store;
