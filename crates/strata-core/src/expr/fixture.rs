//! A schema for the expression language's tests: posts with every field type, relations to users and teams, and
//! comments and memberships for back-relations.

use crate::schema::Schema;

pub(crate) const TOML: &str = r#"
[collections.users]
fields.name = { type = "text", max_length = 100 }
fields.secret = { type = "text", hidden = true }
fields.team = { type = "relation", collection = "teams" }

[collections.teams]
fields.name = { type = "text" }
fields.owner = { type = "relation", collection = "users" }

[collections.posts]
fields.title = { type = "text" }
fields.status = { type = "select", options = ["draft", "published"] }
fields.views = { type = "integer" }
fields.score = { type = "number" }
fields.published = { type = "boolean" }
fields.due = { type = "datetime" }
fields.day = { type = "date" }
fields.ref = { type = "uuid" }
fields.tags = { type = "json" }
fields.author = { type = "relation", collection = "users" }
fields.team = { type = "relation", collection = "teams" }
fields.note = { type = "text", hidden = true }
rules.list = "status = 'published' || author = @auth.id"
rules.create = "@auth.id != null && @data.author = @auth.id"
rules.delete = "author = @auth.id || @auth.roles ?= 'moderator'"

[collections.comments]
fields.post = { type = "relation", collection = "posts" }
fields.author = { type = "relation", collection = "users" }
fields.body = { type = "text" }

[collections.memberships]
fields.team = { type = "relation", collection = "teams" }
fields.user = { type = "relation", collection = "users" }
fields.role = { type = "text" }
"#;

pub(crate) fn schema() -> Schema {
    match Schema::from_toml(TOML) {
        Ok(schema) => schema,
        Err(errors) => panic!("the fixture schema is invalid: {errors:?}"),
    }
}
