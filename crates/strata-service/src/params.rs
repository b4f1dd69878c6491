//! Query parameters of reads (SPEC §4, §14): `sort`, `limit`, `offset`, `fields`, `expand`, `count`, checked
//! against the collection. Anything out of range is 400 `invalid_query`, never clamped.

use std::sync::Arc;

use strata_core::schema::{Collection, FieldKind, SYSTEM_FIELDS, Schema};
use strata_core::{Error, Principal};
use strata_store::SortKey;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 500;
pub const MAX_OFFSET: u32 = 10_000;
const MAX_EXPAND_DEPTH: usize = 3;
const MAX_EXPAND_PATHS: usize = 10;

/// The raw parameters of a read, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct ReadParams {
    pub filter: Option<String>,
    pub sort: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub offset: Option<String>,
    pub fields: Option<String>,
    pub expand: Option<String>,
    pub count: Option<String>,
}

/// One relation to expand, with what to show of the related records and what to expand below them.
#[derive(Debug, Clone)]
pub struct ExpandNode {
    pub field: String,
    pub target: Arc<Collection>,
    pub fields: Option<Vec<String>>,
    pub children: Vec<ExpandNode>,
}

/// What of each record to show: top-level fields (`None`: all) and the expansions.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub fields: Option<Vec<String>>,
    pub expand: Vec<ExpandNode>,
}

fn visible(field: &strata_core::schema::Field, principal: &Principal) -> bool {
    !field.hidden || principal.is_admin()
}

/// Whether `name` is a field the caller may name in `sort` and `fields`.
fn known(collection: &Collection, name: &str, principal: &Principal) -> bool {
    SYSTEM_FIELDS.contains(&name)
        || collection
            .field(name)
            .is_some_and(|f| visible(f, principal))
}

pub fn parse_sort(
    collection: &Collection,
    sort: Option<&str>,
    principal: &Principal,
) -> Result<Vec<SortKey>, Error> {
    let mut keys = Vec::new();
    for part in sort.unwrap_or("created_at").split(',') {
        let part = part.trim();
        let (descending, name) = match part.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        if !known(collection, name, principal) {
            return Err(Error::invalid_query(format!(
                "cannot sort by unknown field `{name}`"
            )));
        }
        if collection
            .field(name)
            .is_some_and(|f| matches!(f.kind, FieldKind::Json { .. }))
        {
            return Err(Error::invalid_query(format!(
                "cannot sort by the json field `{name}`"
            )));
        }
        if keys.iter().any(|k: &SortKey| k.field == name) {
            return Err(Error::invalid_query(format!(
                "`{name}` appears twice in sort"
            )));
        }
        keys.push(SortKey {
            field: name.to_owned(),
            descending,
        });
    }
    // Every order ends with `id`, in the direction of the last key (SPEC §14), so it is total.
    if keys.last().is_some_and(|k| k.field != "id") {
        let descending = keys.last().is_some_and(|k| k.descending);
        keys.push(SortKey {
            field: "id".into(),
            descending,
        });
    }
    Ok(keys)
}

pub fn parse_limit(limit: Option<&str>) -> Result<u32, Error> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Error::invalid_query(format!("limit must be an integer from 1 to {MAX_LIMIT}"))
            }),
    }
}

pub fn parse_offset(offset: Option<&str>) -> Result<u32, Error> {
    match offset {
        None => Ok(0),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= MAX_OFFSET)
            .ok_or_else(|| {
                Error::invalid_query(format!("offset must be an integer from 0 to {MAX_OFFSET}"))
            }),
    }
}

pub fn parse_bool(name: &str, value: Option<&str>) -> Result<bool, Error> {
    match value {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Error::invalid_query(format!(
            "{name} must be true or false"
        ))),
    }
}

/// `fields` and `expand` together: `fields=id,title,expand.author.name&expand=author`.
pub fn parse_selection(
    schema: &Schema,
    collection: &Arc<Collection>,
    fields: Option<&str>,
    expand: Option<&str>,
    principal: &Principal,
) -> Result<Selection, Error> {
    let mut top = Vec::new();
    let mut nested: Vec<(Vec<&str>, &str)> = Vec::new();
    for name in fields.into_iter().flat_map(|f| f.split(',')).map(str::trim) {
        match name.strip_prefix("expand.") {
            Some(rest) => {
                let mut parts: Vec<&str> = rest.split('.').collect();
                let field = parts.pop().filter(|_| !parts.is_empty()).ok_or_else(|| {
                    Error::invalid_query(format!(
                        "`{name}` must name a field of an expansion: expand.PATH.FIELD"
                    ))
                })?;
                nested.push((parts, field));
            }
            None if known(collection, name, principal) => top.push(name.to_owned()),
            None => {
                return Err(Error::invalid_query(format!(
                    "unknown field `{name}` in fields"
                )));
            }
        }
    }
    let paths: Vec<&str> = expand
        .into_iter()
        .flat_map(|e| e.split(','))
        .map(str::trim)
        .collect();
    if paths.len() > MAX_EXPAND_PATHS {
        return Err(Error::invalid_query(format!(
            "expand takes at most {MAX_EXPAND_PATHS} paths"
        )));
    }
    let mut tree: Vec<ExpandNode> = Vec::new();
    for path in paths {
        let steps: Vec<&str> = path.split('.').collect();
        if steps.len() > MAX_EXPAND_DEPTH {
            return Err(Error::invalid_query(format!(
                "expand `{path}` is deeper than {MAX_EXPAND_DEPTH}"
            )));
        }
        insert_path(schema, collection, &mut tree, &steps, principal, path)?;
    }
    for (path, field) in nested {
        let node = find_node(&mut tree, &path).ok_or_else(|| {
            Error::invalid_query(format!(
                "fields names expand.{} which is not expanded",
                path.join(".")
            ))
        })?;
        if !known(&node.target, field, principal) {
            return Err(Error::invalid_query(format!(
                "unknown field `{field}` in expand.{}",
                path.join(".")
            )));
        }
        node.fields
            .get_or_insert_with(Vec::new)
            .push(field.to_owned());
    }
    Ok(Selection {
        fields: fields.map(|_| top),
        expand: tree,
    })
}

fn insert_path(
    schema: &Schema,
    collection: &Arc<Collection>,
    tree: &mut Vec<ExpandNode>,
    steps: &[&str],
    principal: &Principal,
    path: &str,
) -> Result<(), Error> {
    let Some((first, rest)) = steps.split_first() else {
        return Ok(());
    };
    let target = match collection.field(first) {
        Some(field) if visible(field, principal) => match &field.kind {
            FieldKind::Relation {
                collection: target, ..
            } => schema.collection(target).cloned(),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| {
        Error::invalid_query(format!("`{first}` in expand `{path}` is not a relation"))
    })?;
    let index = match tree.iter().position(|n| n.field == *first) {
        Some(i) => i,
        None => {
            tree.push(ExpandNode {
                field: (*first).to_owned(),
                target: target.clone(),
                fields: None,
                children: Vec::new(),
            });
            tree.len() - 1
        }
    };
    insert_path(
        schema,
        &target,
        &mut tree[index].children,
        rest,
        principal,
        path,
    )
}

fn find_node<'a>(tree: &'a mut [ExpandNode], path: &[&str]) -> Option<&'a mut ExpandNode> {
    let (first, rest) = path.split_first()?;
    let node = tree.iter_mut().find(|n| n.field == *first)?;
    if rest.is_empty() {
        Some(node)
    } else {
        find_node(&mut node.children, rest)
    }
}
