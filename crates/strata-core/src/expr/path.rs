//! Resolving a field path (`status`, `author.team.name`, `memberships_via_team.user`) against the schema: which
//! relation steps it takes, which column it ends on and that column's type. The checker, the evaluator and the
//! SQL compilers all resolve paths here, so they agree on what a path means.

use super::ExprError;
use crate::schema::{Collection, FieldKind, Schema};
use crate::value::ColType;

/// One step of a path, from the collection it starts in.
#[derive(Debug, Clone, Copy)]
pub enum Step<'s> {
    /// The relation `field` of the current collection, to one record of `target`.
    Forward {
        field: &'s str,
        target: &'s Collection,
    },
    /// `SOURCE_via_FIELD`: the records of `source` whose relation `field` points to the current record.
    Back {
        source: &'s Collection,
        field: &'s str,
    },
}

/// A path resolved against the schema.
#[derive(Debug, Clone)]
pub struct ResolvedPath<'s> {
    /// The relation steps, in order; empty for a field of the record itself.
    pub steps: Vec<Step<'s>>,
    /// The column the path ends on, in the collection the last step reaches.
    pub column: &'s str,
    /// How that column is stored.
    pub ty: ColType,
    /// Whether a back-relation makes the path a list of values (usable only with `?=`).
    pub many: bool,
}

/// The name and type of a system field present on every record (`id`, `created_at`, `updated_at`, `version`).
pub fn system_field_type(name: &str) -> Option<(&'static str, ColType)> {
    match name {
        "id" => Some(("id", ColType::Uuid)),
        "created_at" => Some(("created_at", ColType::Datetime)),
        "updated_at" => Some(("updated_at", ColType::Datetime)),
        "version" => Some(("version", ColType::Int)),
        _ => None,
    }
}

/// A column of `collection`: its name as the schema spells it, its type and, for a relation, the collection it
/// points to. Hidden fields are absent unless `hidden_visible`.
fn lookup<'s>(
    collection: &'s Collection,
    name: &str,
    hidden_visible: bool,
) -> Option<(&'s str, ColType, Option<&'s str>)> {
    if let Some((column, ty)) = system_field_type(name) {
        return Some((column, ty, None));
    }
    let field = collection
        .field(name)
        .filter(|f| hidden_visible || !f.hidden)?;
    let target = match &field.kind {
        FieldKind::Relation { collection, .. } => Some(collection.as_str()),
        _ => None,
    };
    Some((field.name.as_str(), field.storage(), target))
}

/// `SOURCE_via_FIELD` as a back-relation to `current`, trying every place the name could split.
fn back_relation<'s>(
    schema: &'s Schema,
    current: &Collection,
    name: &str,
    hidden_visible: bool,
) -> Option<Step<'s>> {
    name.match_indices("_via_").find_map(|(at, _)| {
        let source = schema.collection(&name[..at])?;
        let (field, _, target) = lookup(source, &name[at + "_via_".len()..], hidden_visible)?;
        (target == Some(current.name.as_str())).then_some(Step::Back { source, field })
    })
}

/// Resolve `path` (which starts at character `position` in the source) from `collection`. Hidden fields, at any
/// step, are unknown unless `hidden_visible`. `a.id` after a relation `a` resolves to `a` itself, so it needs no
/// other record.
pub fn resolve_path<'s>(
    schema: &'s Schema,
    collection: &'s Collection,
    path: &[String],
    position: usize,
    hidden_visible: bool,
) -> Result<ResolvedPath<'s>, ExprError> {
    let Some((last, steps_names)) = path.split_last() else {
        return Err(ExprError::new(position, "empty path"));
    };
    let mut current = collection;
    let mut steps = Vec::with_capacity(steps_names.len());
    let mut at = position;
    for name in steps_names {
        let forward = lookup(current, name, hidden_visible);
        if let Some((field, _, Some(target))) = forward {
            let target = schema.collection(target).ok_or_else(|| {
                ExprError::new(at, format!("`{name}` points to an unknown collection"))
            })?;
            steps.push(Step::Forward { field, target });
            current = target;
        } else if let Some(step @ Step::Back { source, .. }) =
            back_relation(schema, current, name, hidden_visible)
        {
            steps.push(step);
            current = source;
        } else {
            let message = if forward.is_some() {
                format!("`{name}` is not a relation, so a path cannot continue after it")
            } else if name.contains("_via_") {
                format!(
                    "`{name}` is not a back-relation to `{}`: expected COLLECTION_via_FIELD where FIELD is a relation to `{}`",
                    current.name, current.name
                )
            } else {
                format!("unknown field `{name}` in `{}`", current.name)
            };
            return Err(ExprError::new(at, message));
        }
        at += name.chars().count() + 1;
    }
    let Some((mut column, mut ty, _)) = lookup(current, last, hidden_visible) else {
        let message = if steps.is_empty() {
            format!("unknown field `{last}`")
        } else {
            format!("unknown field `{last}` in `{}`", current.name)
        };
        return Err(ExprError::new(at, message));
    };
    if column == "id"
        && let Some(&Step::Forward { field, .. }) = steps.last()
    {
        steps.pop();
        (column, ty) = (field, ColType::Uuid);
    }
    let many = steps.iter().any(|s| matches!(s, Step::Back { .. }));
    if many && ty == ColType::Json {
        return Err(ExprError::new(
            at,
            "a json field cannot be reached through a back-relation",
        ));
    }
    Ok(ResolvedPath {
        steps,
        column,
        ty,
        many,
    })
}
