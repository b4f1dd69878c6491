//! DDL for each dialect from the relational model (SPEC §14 "Types and storage").

use super::model::{Column, ForeignKey, IndexModel, Table, index_name};
use crate::sql::Dialect;
use strata_core::ColType;

/// What varies between MySQL and MariaDB: the pad-free binary collation of text columns.
#[derive(Debug, Clone, Copy)]
pub struct Ddl {
    pub dialect: Dialect,
    /// `utf8mb4_0900_bin` on MySQL 8, `utf8mb4_nopad_bin` on MariaDB.
    pub mysql_text_collation: &'static str,
}

/// Longest MySQL VARCHAR Strata declares; longer or unbounded text is LONGTEXT (which cannot be indexed).
const MYSQL_VARCHAR_MAX: u64 = 1024;

impl Ddl {
    fn q(&self, ident: &str) -> String {
        self.dialect.quote(ident)
    }

    pub fn column_type(&self, col: &Column) -> String {
        use ColType::*;
        match (self.dialect, col.ty) {
            (Dialect::Sqlite, Int | Bool) => "INTEGER".into(),
            (Dialect::Sqlite, Float) => "REAL".into(),
            (Dialect::Sqlite, _) => "TEXT".into(),
            (Dialect::Postgres, Text) => "TEXT COLLATE \"C\"".into(),
            (Dialect::Postgres, Int) => "BIGINT".into(),
            (Dialect::Postgres, Float) => "DOUBLE PRECISION".into(),
            (Dialect::Postgres, Bool) => "BOOLEAN".into(),
            (Dialect::Postgres, Uuid) => "UUID".into(),
            (Dialect::Postgres, Datetime) => "TIMESTAMPTZ".into(),
            (Dialect::Postgres, Date) => "DATE".into(),
            (Dialect::Postgres, Json) => "JSONB".into(),
            (Dialect::Mysql, Text) => match col.max_chars {
                Some(n) if n <= MYSQL_VARCHAR_MAX => {
                    format!(
                        "VARCHAR({}) CHARACTER SET utf8mb4 COLLATE {}",
                        n.max(1),
                        self.mysql_text_collation
                    )
                }
                _ => format!(
                    "LONGTEXT CHARACTER SET utf8mb4 COLLATE {}",
                    self.mysql_text_collation
                ),
            },
            (Dialect::Mysql, Int) => "BIGINT".into(),
            (Dialect::Mysql, Float) => "DOUBLE".into(),
            (Dialect::Mysql, Bool) => "BOOLEAN".into(),
            (Dialect::Mysql, Uuid) => "CHAR(36) CHARACTER SET ascii COLLATE ascii_bin".into(),
            (Dialect::Mysql, Datetime) => "DATETIME(6)".into(),
            (Dialect::Mysql, Date) => "DATE".into(),
            (Dialect::Mysql, Json) => "JSON".into(),
        }
    }

    fn column_def(&self, col: &Column) -> String {
        let mut def = format!("{} {}", self.q(&col.name), self.column_type(col));
        if col.not_null {
            def.push_str(" NOT NULL");
        }
        def
    }

    fn references(&self, fk: &ForeignKey) -> String {
        let action = match fk.on_delete.as_str() {
            "cascade" => "CASCADE",
            "set_null" => "SET NULL",
            _ => "RESTRICT",
        };
        format!(
            "REFERENCES {} ({}) ON DELETE {action}",
            self.q(&fk.table),
            self.q("id")
        )
    }

    fn fk_name(&self, table: &str, column: &str) -> String {
        index_name(table, &[column.to_owned()], false).replacen("ix_", "fk_", 1)
    }

    /// `CREATE TABLE`; on SQLite foreign keys are declared here (it checks them lazily), elsewhere they are added
    /// once every table exists ([`Ddl::add_foreign_key`]), so relations may form cycles.
    pub fn create_table(&self, table: &Table) -> String {
        let mut parts: Vec<String> = table.columns.iter().map(|c| self.column_def(c)).collect();
        let pk: Vec<String> = table.primary_key.iter().map(|c| self.q(c)).collect();
        parts.push(format!("PRIMARY KEY ({})", pk.join(", ")));
        if self.dialect == Dialect::Sqlite {
            for col in &table.columns {
                if let Some(fk) = &col.references {
                    parts.push(format!(
                        "FOREIGN KEY ({}) {}",
                        self.q(&col.name),
                        self.references(fk)
                    ));
                }
            }
        }
        let suffix = match self.dialect {
            Dialect::Mysql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            _ => "",
        };
        format!(
            "CREATE TABLE {} ({}){suffix}",
            self.q(&table.name),
            parts.join(", ")
        )
    }

    /// Foreign keys to add after the table exists (PostgreSQL, MySQL).
    pub fn foreign_keys(&self, table: &Table) -> Vec<String> {
        if self.dialect == Dialect::Sqlite {
            return Vec::new();
        }
        table
            .columns
            .iter()
            .filter(|c| c.references.is_some())
            .map(|c| self.add_foreign_key(&table.name, c))
            .collect()
    }

    pub fn add_foreign_key(&self, table: &str, col: &Column) -> String {
        let fk = col
            .references
            .as_ref()
            .map(|fk| self.references(fk))
            .unwrap_or_default();
        format!(
            "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) {fk}",
            self.q(table),
            self.q(&self.fk_name(table, &col.name)),
            self.q(&col.name)
        )
    }

    pub fn drop_foreign_key(&self, table: &str, column: &str) -> String {
        let keyword = if self.dialect == Dialect::Mysql {
            "FOREIGN KEY"
        } else {
            "CONSTRAINT"
        };
        format!(
            "ALTER TABLE {} DROP {keyword} {}",
            self.q(table),
            self.q(&self.fk_name(table, column))
        )
    }

    pub fn create_index(&self, table: &str, index: &IndexModel) -> String {
        let cols: Vec<String> = index.columns.iter().map(|c| self.q(c)).collect();
        format!(
            "CREATE {}INDEX {} ON {} ({})",
            if index.unique { "UNIQUE " } else { "" },
            self.q(&index.name),
            self.q(table),
            cols.join(", ")
        )
    }

    pub fn drop_index(&self, table: &str, index: &str) -> String {
        match self.dialect {
            Dialect::Mysql => format!("DROP INDEX {} ON {}", self.q(index), self.q(table)),
            _ => format!("DROP INDEX {}", self.q(index)),
        }
    }

    /// Add a column; on SQLite its foreign key goes inline (the only way there).
    pub fn add_column(&self, table: &str, col: &Column) -> Vec<String> {
        let mut def = self.column_def(col);
        if self.dialect == Dialect::Sqlite
            && let Some(fk) = &col.references
        {
            def = format!("{def} {}", self.references(fk));
        }
        let mut statements = vec![format!("ALTER TABLE {} ADD COLUMN {def}", self.q(table))];
        if self.dialect != Dialect::Sqlite && col.references.is_some() {
            statements.push(self.add_foreign_key(table, col));
        }
        statements
    }

    pub fn drop_column(&self, table: &str, col: &Column) -> Vec<String> {
        let mut statements = Vec::new();
        if self.dialect != Dialect::Sqlite && col.references.is_some() {
            statements.push(self.drop_foreign_key(table, &col.name));
        }
        statements.push(format!(
            "ALTER TABLE {} DROP COLUMN {}",
            self.q(table),
            self.q(&col.name)
        ));
        statements
    }

    /// Widen or narrow a MySQL VARCHAR in place.
    pub fn modify_column(&self, table: &str, col: &Column) -> Option<String> {
        (self.dialect == Dialect::Mysql).then(|| {
            format!(
                "ALTER TABLE {} MODIFY COLUMN {}",
                self.q(table),
                self.column_def(col)
            )
        })
    }

    pub fn drop_table(&self, table: &str) -> String {
        format!("DROP TABLE {}", self.q(table))
    }
}
