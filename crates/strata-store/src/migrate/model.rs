//! The relational model of a schema: the tables, columns, indexes and foreign keys Strata keeps in a database.
//! The model of what was last applied is stored with the data (`_schema`), so the diff never has to read each
//! database's catalogue types back.

use serde::{Deserialize, Serialize};
use strata_core::ColType;
use strata_core::schema::{FieldKind, OnDelete, Schema};

/// A foreign key of a relation column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub table: String,
    pub on_delete: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
    /// Longest text, for sizing indexed columns on MySQL.
    pub max_chars: Option<u64>,
    pub not_null: bool,
    pub references: Option<ForeignKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexModel {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub indexes: Vec<IndexModel>,
}

pub(crate) fn column(name: &str, ty: ColType, max_chars: Option<u64>, not_null: bool) -> Column {
    Column {
        name: name.to_owned(),
        ty,
        max_chars,
        not_null,
        references: None,
    }
}

/// A short, stable name for an index: databases limit identifiers to 63 (PostgreSQL) or 64 (MySQL) characters.
pub fn index_name(table: &str, columns: &[String], unique: bool) -> String {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in columns.join(",").bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let prefix = if unique { "uq" } else { "ix" };
    let table: String = table.chars().take(40).collect();
    format!("{prefix}_{table}_{:08x}", hash as u32)
}

/// The tables the declared schema needs, in declaration order.
pub fn collection_tables(schema: &Schema) -> Vec<Table> {
    schema
        .collections()
        .map(|c| {
            let mut columns = vec![
                column("id", ColType::Uuid, None, true),
                column("created_at", ColType::Datetime, None, true),
                column("updated_at", ColType::Datetime, None, true),
                column("version", ColType::Int, None, true),
            ];
            for field in &c.fields {
                let mut col = column(&field.name, field.storage(), field.kind.max_chars(), false);
                if let FieldKind::Relation {
                    collection,
                    on_delete,
                } = &field.kind
                {
                    let on_delete = match on_delete {
                        OnDelete::Cascade => "cascade",
                        OnDelete::SetNull => "set_null",
                        OnDelete::Restrict => "restrict",
                    };
                    col.references = Some(ForeignKey {
                        table: collection.clone(),
                        on_delete: on_delete.into(),
                    });
                }
                columns.push(col);
            }
            let mut index_columns: Vec<(Vec<String>, bool)> =
                vec![(vec!["created_at".into(), "id".into()], false)];
            // Relation columns are indexed so that deletes and back-relations do not scan.
            for (_, field, _) in c.relations() {
                index_columns.push((vec![field.name.clone()], false));
            }
            for index in &c.indexes {
                index_columns.push((index.fields.clone(), index.unique));
            }
            let mut indexes: Vec<IndexModel> = Vec::new();
            for (cols, unique) in index_columns {
                let name = index_name(&c.name, &cols, unique);
                if !indexes.iter().any(|i| i.name == name) {
                    indexes.push(IndexModel {
                        name,
                        columns: cols,
                        unique,
                    });
                }
            }
            Table {
                name: c.name.clone(),
                columns,
                primary_key: vec!["id".into()],
                indexes,
            }
        })
        .collect()
}

/// Strata's own tables: the outbox, idempotency keys, the applied model and the migration history.
pub fn internal_tables() -> Vec<Table> {
    use ColType::*;
    let outbox = Table {
        name: crate::outbox::TABLE.into(),
        columns: vec![
            column("id", Uuid, None, true),
            column("collection", Text, Some(63), true),
            column("type", Text, Some(16), true),
            column("subject", Uuid, None, true),
            column("time", Datetime, None, true),
            column("payload", Json, None, true),
            column("delivered_at", Datetime, None, false),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![IndexModel {
            name: "ix__outbox_pending".into(),
            columns: vec!["delivered_at".into(), "id".into()],
            unique: false,
        }],
    };
    let idempotency = Table {
        name: crate::idempotency::TABLE.into(),
        columns: vec![
            column("scope", Text, Some(200), true),
            column("idem_key", Text, Some(255), true),
            column("fingerprint", Text, Some(64), true),
            column("status", Int, None, false),
            column("headers", Json, None, false),
            column("body", Text, None, false),
            column("created_at", Datetime, None, true),
        ],
        primary_key: vec!["scope".into(), "idem_key".into()],
        indexes: vec![IndexModel {
            name: "ix__idempotency_created".into(),
            columns: vec!["created_at".into()],
            unique: false,
        }],
    };
    let schema = Table {
        name: SCHEMA_TABLE.into(),
        columns: vec![
            column("name", Text, Some(63), true),
            column("definition", Json, None, true),
        ],
        primary_key: vec!["name".into()],
        indexes: vec![],
    };
    let history = Table {
        name: HISTORY_TABLE.into(),
        columns: vec![
            column("id", Uuid, None, true),
            column("applied_at", Datetime, None, true),
            column("description", Text, None, true),
            column("statements", Json, None, true),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![],
    };
    let mut tables = vec![outbox, idempotency, schema, history];
    tables.extend(crate::auth::tables());
    tables
}

/// Where the applied model is kept, one row per table.
pub const SCHEMA_TABLE: &str = "_schema";
/// The migration history: what was applied, when.
pub const HISTORY_TABLE: &str = "_migrations";
