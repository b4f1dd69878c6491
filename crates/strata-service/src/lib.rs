//! Strata's services: the business rules between the protocol adapters and the stores. Every adapter calls these
//! with the same [`Context`] and gets the same errors from the one catalogue.

pub mod auth;
mod batch;
mod body;
mod context;
mod cursor;
mod doc;
mod error;
pub mod explain;
mod filter;
mod params;
mod readable;
mod records;
mod rules;
mod writes;

pub use batch::{BatchItem, BatchRequest, BatchResult, MAX_BATCH};
pub use body::Mode;
pub use context::Context;
pub use doc::{Doc, Envelope, Page};
pub use params::ReadParams;
pub use records::RecordService;
pub use strata_store::IdempotentResponse as StoredResponse;
pub use writes::{Idempotency, Written};
