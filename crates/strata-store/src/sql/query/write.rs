//! The statements that write a record: insert, update (guarded by the version read) and delete.

use strata_core::schema::Collection;
use strata_core::{ColType, Record, Value};
use uuid::Uuid;

use crate::sql::{Dialect, SqlBuilder};

fn record_params(collection: &Collection, record: &Record) -> Vec<(String, Value, ColType)> {
    let mut cols = vec![
        ("id".to_owned(), Value::Uuid(record.id), ColType::Uuid),
        (
            "created_at".to_owned(),
            Value::Datetime(record.created_at),
            ColType::Datetime,
        ),
        (
            "updated_at".to_owned(),
            Value::Datetime(record.updated_at),
            ColType::Datetime,
        ),
        (
            "version".to_owned(),
            Value::Int(record.version),
            ColType::Int,
        ),
    ];
    for (field, value) in collection.fields.iter().zip(&record.values) {
        cols.push((field.name.clone(), value.clone(), field.storage()));
    }
    cols
}

pub fn insert(dialect: Dialect, collection: &Collection, record: &Record) -> SqlBuilder {
    let mut b = SqlBuilder::new(dialect);
    push_insert(&mut b, collection, record, Values::List);
    b
}

/// How an `INSERT` gives its row: `VALUES (…)`, or `SELECT …` (which a `WHERE` may follow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    List,
    Select,
}

/// `INSERT INTO collection (every column) VALUES (…)`, or `… SELECT …`, pushed onto `b`.
pub fn push_insert(b: &mut SqlBuilder, collection: &Collection, record: &Record, values: Values) {
    push_into(b, collection);
    b.push(match values {
        Values::List => " VALUES (",
        Values::Select => " SELECT ",
    });
    push_row(b, collection, record);
    if values == Values::List {
        b.push(")");
    }
}

/// `INSERT INTO collection (every column) VALUES (…), (…), …`: records of one collection in one statement.
pub fn insert_rows(dialect: Dialect, collection: &Collection, records: &[&Record]) -> SqlBuilder {
    let mut b = SqlBuilder::new(dialect);
    if records.len() > 1 {
        b.varies();
    }
    push_into(&mut b, collection);
    b.push(" VALUES ");
    for (i, record) in records.iter().enumerate() {
        b.push(if i > 0 { ", (" } else { "(" });
        push_row(&mut b, collection, record);
        b.push(")");
    }
    b
}

/// `INSERT INTO collection (every column)`
fn push_into(b: &mut SqlBuilder, collection: &Collection) {
    b.push("INSERT INTO ").ident(&collection.name).push(" (");
    for (i, name) in strata_core::schema::SYSTEM_FIELDS
        .iter()
        .copied()
        .chain(collection.fields.iter().map(|f| f.name.as_str()))
        .enumerate()
    {
        if i > 0 {
            b.push(", ");
        }
        b.ident(name);
    }
    b.push(")");
}

/// The record's values in [`push_into`]'s column order, as parameters.
fn push_row(b: &mut SqlBuilder, collection: &Collection, record: &Record) {
    b.param(Value::Uuid(record.id), ColType::Uuid)
        .push(", ")
        .param(Value::Datetime(record.created_at), ColType::Datetime)
        .push(", ")
        .param(Value::Datetime(record.updated_at), ColType::Datetime)
        .push(", ")
        .param(Value::Int(record.version), ColType::Int);
    for (field, value) in collection.fields.iter().zip(&record.values) {
        b.push(", ").param(value.clone(), field.storage());
    }
}

/// `UPDATE … SET every column WHERE id = ? AND version = ?` (the version the change was computed from).
pub fn update(
    dialect: Dialect,
    collection: &Collection,
    record: &Record,
    from_version: i64,
) -> SqlBuilder {
    let mut b = SqlBuilder::new(dialect);
    b.push("UPDATE ").ident(&collection.name).push(" SET ");
    for (i, (name, value, ty)) in record_params(collection, record)
        .into_iter()
        .skip(2)
        .enumerate()
    {
        if i > 0 {
            b.push(", ");
        }
        b.ident(&name).push(" = ").param(value, ty);
    }
    b.push(" WHERE ")
        .ident("id")
        .push(" = ")
        .param(Value::Uuid(record.id), ColType::Uuid);
    b.push(" AND ")
        .ident("version")
        .push(" = ")
        .param(Value::Int(from_version), ColType::Int);
    b
}

pub fn delete(dialect: Dialect, collection: &Collection, id: Uuid) -> SqlBuilder {
    let mut b = SqlBuilder::new(dialect);
    b.push("DELETE FROM ")
        .ident(&collection.name)
        .push(" WHERE ")
        .ident("id")
        .push(" = ");
    b.param(Value::Uuid(id), ColType::Uuid);
    b
}
