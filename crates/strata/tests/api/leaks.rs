//! The leak matrix (issue: authorization): several principals × records with varied owners and states × every
//! action and endpoint, and filters, sorts and cursors over a read-ruled field. Each outcome must match an oracle computed here from the rules, independently of the
//! server, and no response body may contain a record or field the oracle hides.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::authz::{AUTHZ, User, admin_token, user};
use crate::field_rules::{cursor_values, list_ids};
use crate::helpers::{Reply, TestApp};
use crate::on_backends_with;

#[derive(Clone)]
struct Post {
    id: String,
    title: String,
    author: String,
    published: bool,
    notes: String,
}

struct Who {
    name: &'static str,
    token: Option<String>,
    id: Option<String>,
    admin: bool,
    editor: bool,
}

impl Who {
    fn view(&self, p: &Post) -> bool {
        self.admin || p.published || self.id.as_deref() == Some(&p.author) || self.editor
    }
    fn update(&self, p: &Post) -> bool {
        self.admin || self.id.as_deref() == Some(&p.author) || (self.editor && !p.published)
    }
    fn delete(&self, p: &Post) -> bool {
        self.admin || self.id.as_deref() == Some(&p.author)
    }
    fn read_notes(&self, p: &Post) -> bool {
        self.admin || self.id.as_deref() == Some(&p.author)
    }
    /// The status a denied change gets: 401 anonymous, 403 otherwise (SPEC §14).
    fn denied(&self) -> u16 {
        if self.token.is_none() { 401 } else { 403 }
    }
}

async fn send(app: &TestApp, who: &Who, request: reqwest::RequestBuilder) -> Reply {
    match &who.token {
        Some(token) => app.send_as(token, request).await,
        None => app.send(request).await,
    }
}

async fn seed(app: &TestApp, owners: &[&User]) -> Vec<Post> {
    let mut posts = Vec::new();
    for (i, owner) in owners.iter().enumerate() {
        for published in [false, true] {
            let title = format!("marker-{i}-{published}-{}", uuid::Uuid::now_v7().simple());
            let notes = format!("notes-of-{title}");
            let body = json!({"title": title, "status": if published { "published" } else { "draft" }, "author": owner.id, "notes": notes});
            let reply = app
                .send_as(
                    &owner.token,
                    app.client.post(app.url("/api/v1/posts")).json(&body),
                )
                .await;
            assert_eq!(reply.status, 201, "{}", reply.body);
            posts.push(Post {
                id: reply.body["data"]["id"].as_str().unwrap().to_owned(),
                title,
                author: owner.id.clone(),
                published,
                notes,
            });
        }
    }
    posts
}

/// No body may mention the content of a record, or a field value, the oracle hides from `who`. (A hidden
/// record's id may appear as the value of a visible record's relation field: that field is the visible
/// record's, and SPEC §4 keeps it even when the related record is not expanded.)
fn assert_no_leak(who: &Who, body: &Value, posts: &[Post], context: &str) {
    let text = body.to_string();
    for p in posts {
        if !who.view(p) {
            assert!(
                !text.contains(&p.title),
                "{}: {context} leaks post {}",
                who.name,
                p.title
            );
        }
        if !who.read_notes(p) {
            assert!(
                !text.contains(&p.notes),
                "{}: {context} leaks the notes of {}",
                who.name,
                p.title
            );
        }
    }
}

async fn leak_matrix(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let carol = user(&app, "carol@example.com").await;
    let admin = admin_token(&app).await;
    let promoted = app
        .send_as(
            &admin,
            app.client
                .patch(app.url(&format!("/api/v1/users/{}", carol.id)))
                .json(&json!({"roles": ["editor"]})),
        )
        .await;
    assert_eq!(promoted.status, 200);
    let posts = seed(&app, &[&alice, &bob, &carol]).await;
    // A comment on every post, by the admin, so expansion can be probed from the comments side.
    let mut comments: HashMap<String, String> = HashMap::new();
    for p in &posts {
        let reply = app
            .send_as(
                &admin,
                app.client
                    .post(app.url("/api/v1/comments"))
                    .json(&json!({"post": p.id, "body": "c"})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        comments.insert(
            p.id.clone(),
            reply.body["data"]["id"].as_str().unwrap().to_owned(),
        );
    }
    let principals = vec![
        Who {
            name: "anonymous",
            token: None,
            id: None,
            admin: false,
            editor: false,
        },
        Who {
            name: "alice",
            token: Some(alice.token.clone()),
            id: Some(alice.id.clone()),
            admin: false,
            editor: false,
        },
        Who {
            name: "bob",
            token: Some(bob.token.clone()),
            id: Some(bob.id.clone()),
            admin: false,
            editor: false,
        },
        Who {
            name: "carol (editor)",
            token: Some(carol.token.clone()),
            id: Some(carol.id.clone()),
            admin: false,
            editor: true,
        },
        Who {
            name: "admin",
            token: Some(admin.clone()),
            id: None,
            admin: true,
            editor: false,
        },
    ];

    for who in &principals {
        let visible: HashSet<&str> = posts
            .iter()
            .filter(|p| who.view(p))
            .map(|p| p.id.as_str())
            .collect();
        // list, count, filter, fields
        let list = send(
            &app,
            who,
            app.client
                .get(app.url("/api/v1/posts?count=true&limit=100")),
        )
        .await;
        assert_eq!(list.status, 200, "{}: {}", who.name, list.body);
        let listed: HashSet<&str> = list.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, visible, "{}: list", who.name);
        assert_eq!(
            list.body["total"].as_u64(),
            Some(visible.len() as u64),
            "{}: count",
            who.name
        );
        assert_no_leak(who, &list.body, &posts, "list");
        let filtered = send(
            &app,
            who,
            app.client.get(app.url("/api/v1/posts")).query(&[
                ("filter", "title ~ 'marker'"),
                ("limit", "100"),
                ("fields", "id,notes"),
            ]),
        )
        .await;
        let filtered_ids: HashSet<&str> = filtered.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(filtered_ids, visible, "{}: filter", who.name);
        assert_no_leak(who, &filtered.body, &posts, "filter with fields");
        // The read-ruled notes: matched only where the oracle lets `who` read them, null elsewhere, and an order
        // by them walks every visible post once with cursors that carry nothing hidden.
        let readable: HashSet<&str> = posts
            .iter()
            .filter(|p| who.view(p) && who.read_notes(p))
            .map(|p| p.id.as_str())
            .collect();
        let token = who.token.as_deref();
        for (filter, expected) in [
            ("notes ~ 'notes-of-'", readable.clone()),
            ("notes = null", &visible - &readable),
        ] {
            let (ids, total) = list_ids(
                &app,
                token,
                "posts",
                &[("filter", filter), ("limit", "100")],
            )
            .await;
            let ids: HashSet<&str> = ids.iter().map(String::as_str).collect();
            assert_eq!(ids, expected, "{}: {filter}", who.name);
            assert_eq!(total, json!(expected.len()), "{}: count {filter}", who.name);
        }
        for sort in ["notes", "-notes"] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut query = vec![("sort", sort), ("limit", "2")];
                if let Some(c) = &cursor {
                    query.push(("cursor", c.as_str()));
                }
                let page = send(
                    &app,
                    who,
                    app.client.get(app.url("/api/v1/posts")).query(&query),
                )
                .await;
                assert_eq!(page.status, 200, "{}: {}", who.name, page.body);
                assert_no_leak(who, &page.body, &posts, "sort by notes");
                for record in page.body["data"].as_array().unwrap() {
                    seen.push(record["id"].as_str().unwrap().to_owned());
                }
                let Some(next) = page.body["next_cursor"].as_str() else {
                    break;
                };
                assert_no_leak(who, &cursor_values(next), &posts, "cursor");
                cursor = Some(next.to_owned());
                assert!(
                    seen.len() <= posts.len(),
                    "{}: the walk does not end",
                    who.name
                );
            }
            let unique: HashSet<&str> = seen.iter().map(String::as_str).collect();
            assert_eq!(
                unique.len(),
                seen.len(),
                "{}: {sort} repeats a post",
                who.name
            );
            assert_eq!(unique, visible, "{}: {sort} by cursor", who.name);
        }

        for p in &posts {
            let path = format!("/api/v1/posts/{}", p.id);
            // view
            let read = send(&app, who, app.client.get(app.url(&path))).await;
            assert_eq!(
                read.status,
                if who.view(p) { 200 } else { 404 },
                "{} views {}",
                who.name,
                p.title
            );
            assert_eq!(
                read.body["data"].get("notes").is_some(),
                who.view(p) && who.read_notes(p),
                "{} reads notes of {}",
                who.name,
                p.title
            );
            assert_no_leak(who, &read.body, &posts, "view");
            // expand from the comment side
            let comment = &comments[&p.id];
            let expanded = send(
                &app,
                who,
                app.client
                    .get(app.url(&format!("/api/v1/comments/{comment}?expand=post"))),
            )
            .await;
            assert_eq!(expanded.status, 200);
            assert_eq!(
                expanded.body["data"]["expand"]["post"]["id"].as_str() == Some(&p.id),
                who.view(p),
                "{} expands {}",
                who.name,
                p.title
            );
            assert_no_leak(who, &expanded.body, &posts, "expand");
            // update, directly and in a batch: a harmless change of title to itself
            let expected = if !who.view(p) {
                404
            } else if who.update(p) {
                200
            } else {
                who.denied()
            };
            let patch = send(
                &app,
                who,
                app.client
                    .patch(app.url(&path))
                    .json(&json!({"title": p.title})),
            )
            .await;
            assert_eq!(
                patch.status, expected,
                "{} updates {}: {}",
                who.name, p.title, patch.body
            );
            assert_no_leak(who, &patch.body, &posts, "update");
            let batch = send(&app, who, app.client.post(app.url("/api/v1/batch")).json(&json!({"requests": [
                {"method": "PATCH", "path": format!("/posts/{}", p.id), "body": {"title": p.title}}
            ]}))).await;
            assert_eq!(
                batch.status, expected,
                "{} batch-updates {}",
                who.name, p.title
            );
            assert_no_leak(who, &batch.body, &posts, "batch");
        }
    }

    // delete, last, on fresh copies: each principal tries every post of a fresh set.
    for who in &principals {
        let fresh = seed(&app, &[&alice, &bob, &carol]).await;
        for p in &fresh {
            let expected = if !who.view(p) {
                404
            } else if who.delete(p) {
                204
            } else {
                who.denied()
            };
            let reply = send(
                &app,
                who,
                app.client
                    .delete(app.url(&format!("/api/v1/posts/{}", p.id))),
            )
            .await;
            assert_eq!(
                reply.status, expected,
                "{} deletes {}: {}",
                who.name, p.title, reply.body
            );
            assert_no_leak(who, &reply.body, &fresh, "delete");
        }
    }
}

on_backends_with!(AUTHZ; leak_matrix);
