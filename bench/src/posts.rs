//! The benchmark's `posts` collection: its schema as Strata reads it, and the generator of post bodies used for
//! seeding, for the create load and for the ceiling's fixed answer, so that all three have the same shape and size.

use serde_json::{Value, json};

/// The schema Strata serves during the benchmark: SPEC §3's posts, owned by a user, with the rules evaluated on
/// every request (SPEC §13: "an authenticated user, rules applied"). Drafts are visible to their author only, so
/// the view and list rules really compare `author` with the caller; the create rule checks the caller and the data.
///
/// `notes` has the same fields and index with every rule `"true"` (public), seeded alike, so that the same reads
/// on both say what the rules cost (issue 5: within 10 %).
///
/// The baseline (`bench/src/baseline/`) writes the posts' validation, rules and statements by hand: a change here
/// is a change there.
pub const SCHEMA: &str = r#"# Written by strata-bench: the benchmark's posts collection (SPEC §13), and notes, the same without rules.
[collections.posts]
fields.title  = { type = "text", required = true, max_length = 200 }
fields.body   = { type = "text", max_length = 10000 }
fields.status = { type = "select", options = ["draft", "published"], default = "draft" }
fields.views  = { type = "integer", min = 0, default = 0 }
fields.author = { type = "relation", collection = "users", required = true, on_delete = "cascade" }
indexes = [["status", "created_at", "id"]]
rules.list   = "status = 'published' || author = @auth.id"
rules.view   = "status = 'published' || author = @auth.id"
rules.create = "@auth.id != null && @data.author = @auth.id && @data.views >= 0"

[collections.notes]
fields.title  = { type = "text", required = true, max_length = 200 }
fields.body   = { type = "text", max_length = 10000 }
fields.status = { type = "select", options = ["draft", "published"], default = "draft" }
fields.views  = { type = "integer", min = 0, default = 0 }
fields.author = { type = "relation", collection = "users", required = true, on_delete = "cascade" }
indexes = [["status", "created_at", "id"]]
rules.list   = "true"
rules.view   = "true"
rules.create = "true"
rules.update = "true"
rules.delete = "true"
"#;

/// Words the generated titles and bodies are made of (the create load's Lua script has the same list).
const WORDS: [&str; 32] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "strata", "record", "schema",
    "commit", "index", "query",
];

/// How many words a generated body has: about 220 bytes, a short blog post's teaser.
const BODY_WORDS: usize = 32;

/// A small, fast, deterministic generator (xorshift64*): the benchmark needs varied data, not secure randomness,
/// and the workspace has no `rand`.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Zero is xorshift's one fixed point; mix the seed so that nearby seeds give unrelated streams.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// An index into a slice of `len` elements (`len > 0`).
    pub fn index(&mut self, len: usize) -> usize {
        // usize → u64 is lossless on every supported target, and the result is below `len`.
        (self.below(len as u64)) as usize
    }
}

fn words(rng: &mut Rng, n: usize) -> String {
    let mut out = String::with_capacity(n * 8);
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[rng.index(WORDS.len())]);
    }
    out
}

/// The body of one create request by `author` (a user id): what a client writes, without system fields.
pub fn new_post(rng: &mut Rng, author: &str) -> Value {
    let title_words = 3 + rng.index(5);
    json!({
        "title": words(rng, title_words),
        "body": words(rng, BODY_WORDS),
        "status": if rng.below(2) == 0 { "draft" } else { "published" },
        "views": rng.below(10_000),
        "author": author,
    })
}

/// One post as Strata answers `GET /api/v1/posts/{id}`: the ceiling's fixed body, the same shape and about the
/// same size as Strata's answer.
pub fn sample_response() -> Value {
    let mut rng = Rng::new(7);
    let mut record = new_post(&mut rng, "019ab1c2-0000-7000-8000-00000000a11c");
    if let Value::Object(fields) = &mut record {
        let mut full = serde_json::Map::new();
        full.insert("id".into(), json!("019ab1c2-3d4e-7f60-8a9b-0c1d2e3f4a5b"));
        full.append(fields);
        full.insert("created_at".into(), json!("2026-01-02T03:04:05.678901Z"));
        full.insert("updated_at".into(), json!("2026-01-02T03:04:05.678901Z"));
        full.insert("version".into(), json!(1));
        record = Value::Object(full);
    }
    json!({ "data": record })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_posts_pass_the_schema_constraints() {
        let mut rng = Rng::new(1);
        for _ in 0..1_000 {
            let post = new_post(&mut rng, "a");
            let title = post["title"].as_str().unwrap();
            assert!(!title.is_empty() && title.len() <= 200);
            assert!(post["body"].as_str().unwrap().len() <= 10_000);
            assert!(["draft", "published"].contains(&post["status"].as_str().unwrap()));
            assert!(post["views"].as_u64().unwrap() < 10_000);
        }
    }

    #[test]
    fn both_statuses_are_generated_about_equally() {
        let mut rng = Rng::new(2);
        let published = (0..10_000)
            .filter(|_| new_post(&mut rng, "a")["status"] == "published")
            .count();
        assert!((4_500..5_500).contains(&published), "{published}");
    }

    #[test]
    fn notes_are_posts_without_rules() {
        let (posts, notes) = SCHEMA
            .split_once("[collections.notes]")
            .expect("a notes collection");
        let fields = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with("fields.") || l.starts_with("indexes"))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(fields(posts), fields(notes));
        let rules: Vec<&str> = notes.lines().filter(|l| l.starts_with("rules.")).collect();
        assert_eq!(rules.len(), 5);
        assert!(rules.iter().all(|r| r.ends_with("= \"true\"")), "{rules:?}");
    }

    #[test]
    fn the_ceiling_body_has_the_size_of_a_post_record() {
        let size = serde_json::to_vec(&sample_response()).unwrap().len();
        assert!((300..500).contains(&size), "{size}");
    }
}
