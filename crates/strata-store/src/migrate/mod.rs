//! Migrations: the declared schema is diffed against the model last applied to the database. Additive changes
//! apply on `serve`; destructive ones (dropping a table or column, changing a column's type) only when asked
//! (`strata migrate apply --allow-destructive`), after `strata migrate plan` has shown them.

pub mod ddl;
pub mod model;

use std::collections::BTreeMap;

use serde::Serialize;
use strata_core::schema::Schema;
use strata_core::{ColType, Value};

use crate::error::{StoreError, StoreResult};
use crate::exec::Exec;
use crate::sql::SqlBuilder;
use ddl::Ddl;
use model::{HISTORY_TABLE, SCHEMA_TABLE, Table};

/// One step of a plan, with the statements that make it.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub description: String,
    pub destructive: bool,
    pub statements: Vec<String>,
}

/// What applying the declared schema would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    #[serde(skip)]
    desired: Vec<Table>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn destructive(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.destructive)
    }
}

/// The tables a schema needs, Strata's own included (but `_schema`, which exists before any diff).
fn desired_tables(schema: &Schema) -> Vec<Table> {
    let mut tables: Vec<Table> = model::internal_tables()
        .into_iter()
        .filter(|t| t.name != SCHEMA_TABLE)
        .collect();
    tables.extend(model::collection_tables(schema));
    tables
}

/// The `_schema` table, created before anything is read from it.
pub fn bootstrap_statement(ddl: &Ddl) -> String {
    let table = model::internal_tables()
        .into_iter()
        .find(|t| t.name == SCHEMA_TABLE)
        .expect("built in");
    ddl.create_table(&table)
        .replacen("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
}

/// The model last applied, read from `_schema`.
pub async fn applied(e: &mut impl Exec) -> StoreResult<Vec<Table>> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("SELECT ")
        .ident("definition")
        .push(" FROM ")
        .ident(SCHEMA_TABLE);
    let rows = e.fetch(&b, &[ColType::Json]).await?;
    rows.into_iter()
        .map(|row| match row.into_iter().next() {
            Some(Value::Json(j)) => serde_json::from_value(j).map_err(StoreError::other),
            _ => Err(anyhow::anyhow!("a _schema row has no definition").into()),
        })
        .collect()
}

/// Diff the applied model against the declared schema.
pub fn plan(ddl: &Ddl, applied: &[Table], schema: &Schema) -> Plan {
    let desired = desired_tables(schema);
    let current: BTreeMap<&str, &Table> = applied.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut changes = Vec::new();
    let mut foreign_keys = Vec::new();
    for table in &desired {
        match current.get(table.name.as_str()) {
            None => {
                let mut statements = vec![ddl.create_table(table)];
                statements.extend(
                    table
                        .indexes
                        .iter()
                        .map(|i| ddl.create_index(&table.name, i)),
                );
                changes.push(Change {
                    description: format!("create table {}", table.name),
                    destructive: false,
                    statements,
                });
                foreign_keys.extend(ddl.foreign_keys(table));
            }
            Some(old) => diff_table(ddl, old, table, &mut changes),
        }
    }
    if !foreign_keys.is_empty() {
        changes.push(Change {
            description: "add foreign keys".into(),
            destructive: false,
            statements: foreign_keys,
        });
    }
    for old in applied {
        if !desired.iter().any(|t| t.name == old.name) {
            changes.push(Change {
                description: format!("drop table {} and all its records", old.name),
                destructive: true,
                statements: vec![ddl.drop_table(&old.name)],
            });
        }
    }
    Plan { changes, desired }
}

fn diff_table(ddl: &Ddl, old: &Table, new: &Table, changes: &mut Vec<Change>) {
    let name = &new.name;
    // Indexes over columns that go away must go first.
    for index in &old.indexes {
        if !new.indexes.contains(index) {
            changes.push(Change {
                description: format!("drop index {} on {name}", index.name),
                destructive: false,
                statements: vec![ddl.drop_index(name, &index.name)],
            });
        }
    }
    for col in &new.columns {
        match old.columns.iter().find(|c| c.name == col.name) {
            None => changes.push(Change {
                description: format!("add column {name}.{}", col.name),
                destructive: false,
                statements: ddl.add_column(name, col),
            }),
            Some(prev) if prev.ty != col.ty || prev.references != col.references => {
                let mut statements = ddl.drop_column(name, prev);
                statements.extend(ddl.add_column(name, col));
                changes.push(Change {
                    description: format!(
                        "change the type of {name}.{}: its values are dropped",
                        col.name
                    ),
                    destructive: true,
                    statements,
                });
            }
            Some(prev) if prev.max_chars != col.max_chars => {
                let narrower = col
                    .max_chars
                    .is_some_and(|n| prev.max_chars.is_none_or(|p| n < p));
                changes.push(Change {
                    description: format!("change the maximum length of {name}.{}", col.name),
                    destructive: narrower && ddl.dialect == crate::sql::Dialect::Mysql,
                    statements: ddl.modify_column(name, col).into_iter().collect(),
                });
            }
            Some(_) => {}
        }
    }
    for prev in &old.columns {
        if !new.columns.iter().any(|c| c.name == prev.name) {
            changes.push(Change {
                description: format!("drop column {name}.{} and its values", prev.name),
                destructive: true,
                statements: ddl.drop_column(name, prev),
            });
        }
    }
    for index in &new.indexes {
        if !old.indexes.contains(index) {
            changes.push(Change {
                description: format!("create index {} on {name}", index.name),
                destructive: false,
                statements: vec![ddl.create_index(name, index)],
            });
        }
    }
}

/// Run a plan's statements and record the new model and the history. Refuses destructive changes unless
/// allowed. The caller holds the migration lock and, where DDL is transactional, the transaction.
pub async fn apply(e: &mut impl Exec, plan: &Plan, allow_destructive: bool) -> StoreResult<()> {
    if plan.is_empty() {
        return Ok(());
    }
    if !allow_destructive && let Some(change) = plan.destructive().next() {
        return Err(anyhow::anyhow!(
            "the schema needs a destructive change ({}); review it with `strata migrate plan` and apply it with `strata migrate apply --allow-destructive`",
            change.description
        )
        .into());
    }
    let dialect = e.dialect();
    for statement in plan.changes.iter().flat_map(|c| &c.statements) {
        let mut b = SqlBuilder::new(dialect);
        b.push(statement);
        e.execute(&b).await?;
    }
    let mut b = SqlBuilder::new(dialect);
    b.push("DELETE FROM ").ident(SCHEMA_TABLE);
    e.execute(&b).await?;
    for table in &plan.desired {
        let mut b = SqlBuilder::new(dialect);
        b.push("INSERT INTO ")
            .ident(SCHEMA_TABLE)
            .push(" (")
            .ident("name")
            .push(", ")
            .ident("definition")
            .push(") VALUES (");
        b.param(Value::Text(table.name.clone()), ColType::Text)
            .push(", ");
        let definition = serde_json::to_value(table).map_err(StoreError::other)?;
        b.param(Value::Json(definition), ColType::Json).push(")");
        e.execute(&b).await?;
    }
    let description: Vec<&str> = plan
        .changes
        .iter()
        .map(|c| c.description.as_str())
        .collect();
    let statements: Vec<&String> = plan.changes.iter().flat_map(|c| &c.statements).collect();
    let mut b = SqlBuilder::new(dialect);
    b.push("INSERT INTO ")
        .ident(HISTORY_TABLE)
        .push(" (id, applied_at, description, statements) VALUES (");
    b.param(Value::Uuid(uuid::Uuid::now_v7()), ColType::Uuid)
        .push(", ");
    b.param(
        Value::Datetime(strata_core::value::now()),
        ColType::Datetime,
    )
    .push(", ");
    b.param(Value::Text(description.join("; ")), ColType::Text)
        .push(", ");
    b.param(Value::Json(serde_json::json!(statements)), ColType::Json)
        .push(")");
    e.execute(&b).await?;
    Ok(())
}
