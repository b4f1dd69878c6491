//! Reads by id arriving together (on PostgreSQL, answered together by one statement): each reader gets exactly
//! the records it asked for and may see, never another reader's, and a read asked after a write committed sees
//! that write. Pages asked together (one query for each distinct page on every store) are the pages each would
//! get alone, and a page asked after a write holds it. Creates sent together are in
//! [`crate::creates_together_stories`].

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::Connection as _;
use strata_core::expr::{Expr, Mode};
use strata_core::schema::{Action, Collection};
use strata_core::{Record, Value};
use strata_store::{FetchQuery, ListPage, RecordStore, Scope, StoreResult};
use uuid::Uuid;

use crate::fixtures::*;
use crate::harness::Probe;

const RULE: &str = "status = 'published' || author = @auth.id";

struct Read<'a> {
    scope: &'a Scope,
    ids: Vec<Uuid>,
    expect: BTreeSet<Uuid>,
}

fn fetch<'a>(
    store: &'a dyn RecordStore,
    posts: &std::sync::Arc<Collection>,
    rule: &std::sync::Arc<Expr>,
    scope: &Scope,
    ids: Vec<Uuid>,
) -> BoxFuture<'a, StoreResult<Vec<Record>>> {
    store.fetch(FetchQuery {
        scope: scope.clone(),
        collection: posts.clone(),
        ids,
        conditions: vec![rule.clone()],
    })
}

fn ids_of(records: &[Record]) -> BTreeSet<Uuid> {
    records.iter().map(|r| r.id).collect()
}

pub async fn reads_sent_together_each_get_their_own(store: &dyn RecordStore, probe: &Probe) {
    let (scope, authors, posts) = migrated(store).await;
    let (ada, bob) = (
        record(&authors, &[("name", text("Ada"))]),
        record(&authors, &[("name", text("Bob"))]),
    );
    insert_all(store, &scope, &authors, &[ada.clone(), bob.clone()]).await;
    let stored: Vec<Record> = (0..30)
        .map(|i| {
            let (status, author) = match i % 3 {
                0 => ("draft", ada.id),
                1 => ("draft", bob.id),
                _ => ("published", bob.id),
            };
            record(
                &posts,
                &[
                    ("title", text(&format!("post {i}"))),
                    ("status", text(status)),
                    ("author", Value::Uuid(author)),
                ],
            )
        })
        .collect();
    insert_all(store, &scope, &posts, &stored).await;
    let rule = checked(&scope, &posts, RULE, Mode::Rule(Action::View));
    let (as_ada, as_bob) = (user_scope(&scope, ada.id), user_scope(&scope, bob.id));
    let visible = |post: &Record, who: Uuid| {
        post.values[posts.field_index("status").expect("status")] == text("published")
            || post.values[posts.field_index("author").expect("author")] == Value::Uuid(who)
    };

    let mut reads = Vec::new();
    for post in &stored {
        for (scope, who) in [(&as_ada, ada.id), (&as_bob, bob.id), (&as_ada, ada.id)] {
            let expect = visible(post, who).then_some(post.id).into_iter().collect();
            reads.push(Read {
                scope,
                ids: vec![post.id],
                expect,
            });
        }
        reads.push(Read {
            scope: &as_ada,
            ids: vec![Uuid::now_v7()],
            expect: BTreeSet::new(),
        });
    }
    for three in stored.chunks(3) {
        let ids: Vec<Uuid> = three.iter().map(|p| p.id).collect();
        let expect = three
            .iter()
            .filter(|p| visible(p, bob.id))
            .map(|p| p.id)
            .collect();
        reads.push(Read {
            scope: &as_bob,
            ids,
            expect,
        });
    }

    // Writes and the reads their writers send after each commit, among the others.
    let written = |i: usize| {
        let draft = record(
            &posts,
            &[
                ("title", text(&format!("new {i}"))),
                ("status", text("draft")),
                ("author", Value::Uuid(ada.id)),
            ],
        );
        let (store, scope, posts, rule, as_ada) = (store, &scope, &posts, &rule, &as_ada);
        async move {
            insert_all(store, scope, posts, std::slice::from_ref(&draft)).await;
            let seen = fetch(store, posts, rule, as_ada, vec![draft.id])
                .await
                .expect("read after write");
            assert_eq!(
                ids_of(&seen),
                BTreeSet::from([draft.id]),
                "read after its write"
            );
        }
    };
    let reading = futures::future::join_all(
        reads
            .iter()
            .map(|r| fetch(store, &posts, &rule, r.scope, r.ids.clone())),
    );
    let writing = futures::future::join_all((0..20).map(written));
    let (answers, _) = tokio::join!(reading, writing);
    for (read, answer) in reads.iter().zip(answers) {
        let answer = answer.expect("fetch");
        assert_eq!(ids_of(&answer), read.expect, "reader of {:?}", read.ids);
        assert_eq!(answer.len(), read.expect.len(), "each record once");
        for record in &answer {
            let original = stored.iter().find(|p| p.id == record.id).expect("stored");
            assert_eq!(record.values, original.values);
        }
    }

    // Pages: each caller's page, asked by many at once, is the page it gets alone.
    let page_of = |scope: &Scope| {
        let mut q = list_query(scope, &posts, &[("created_at", true), ("id", true)], 5);
        q.conditions = vec![rule.clone()];
        store.list(q)
    };
    let alone = [
        page_ids(page_of(&as_ada).await),
        page_ids(page_of(&as_bob).await),
    ];
    assert_eq!(alone[0].len(), 5);
    assert_ne!(alone[0], alone[1], "ada and bob see different pages");
    let callers: Vec<(usize, &Scope)> = (0..40)
        .map(|i| {
            if i % 4 == 0 {
                (0, &as_ada)
            } else {
                (1, &as_bob)
            }
        })
        .collect();
    let pages = futures::future::join_all(callers.iter().map(|(_, s)| page_of(s))).await;
    for ((who, _), page) in callers.iter().zip(pages) {
        assert_eq!(page_ids(page), alone[*who]);
    }

    // A page asked after a write committed holds that write, however many identical pages are being read (a
    // third author's drafts, which no other page here shows).
    let cy = record(&authors, &[("name", text("Cy"))]);
    insert_all(store, &scope, &authors, std::slice::from_ref(&cy)).await;
    let as_cy = user_scope(&scope, cy.id);
    let whole_page = || {
        let mut q = list_query(&as_cy, &posts, &[("created_at", true), ("id", true)], 100);
        q.conditions = vec![rule.clone()];
        store.list(q)
    };
    let written_then_listed = |i: usize| {
        let draft = record(
            &posts,
            &[
                ("title", text(&format!("listed {i}"))),
                ("status", text("draft")),
                ("author", Value::Uuid(cy.id)),
            ],
        );
        let (scope, posts, whole_page) = (&scope, &posts, &whole_page);
        async move {
            insert_all(store, scope, posts, std::slice::from_ref(&draft)).await;
            let page = page_ids(whole_page().await);
            assert!(page.contains(&draft.id), "a page read after its write");
        }
    };
    let listing = futures::future::join_all((0..40).map(|_| whole_page()));
    let writing = futures::future::join_all((0..20).map(written_then_listed));
    let (pages, _) = tokio::join!(listing, writing);
    for page in pages {
        page.expect("list");
    }

    if matches!(probe, Probe::Sqlite(_)) {
        return;
    }
    // Bob's reads by id while the table is locked.
    let bob_sees = stored.iter().filter(|p| visible(p, bob.id)).count();
    let reads = futures::future::join_all(
        stored
            .iter()
            .map(|p| fetch(store, &posts, &rule, &as_bob, vec![p.id])),
    );
    let (answers, waiting) = waiting_on_a_lock(probe, reads).await;
    assert_eq!(
        waiting, 1,
        "one statement waits on the lock, the other reads wait for it"
    );
    let seen: usize = answers.into_iter().map(|a| a.expect("fetch").len()).sum();
    assert_eq!(
        seen, bob_sees,
        "bob sees the published posts and his own drafts"
    );

    // Ada's and Bob's pages while the table is locked: one statement for each.
    let pages = futures::future::join_all(callers.iter().map(|(_, s)| page_of(s)));
    let (pages, waiting) = waiting_on_a_lock(probe, pages).await;
    assert_eq!(
        waiting, 2,
        "one statement per distinct page waits on the lock"
    );
    for ((who, _), page) in callers.iter().zip(pages) {
        assert_eq!(page_ids(page), alone[*who]);
    }
}

fn page_ids(page: StoreResult<ListPage>) -> Vec<Uuid> {
    page.expect("list").records.iter().map(|r| r.id).collect()
}

/// A connection of the probe's server beside the store's pool.
enum Side {
    Postgres(sqlx::PgConnection),
    Mysql(sqlx::MySqlConnection),
}

impl Side {
    async fn open(probe: &Probe) -> Side {
        match probe {
            Probe::Postgres(pool) => Side::Postgres(
                sqlx::PgConnection::connect_with(&pool.connect_options())
                    .await
                    .expect("connect"),
            ),
            Probe::Mysql(pool) => Side::Mysql(
                sqlx::MySqlConnection::connect_with(&pool.connect_options())
                    .await
                    .expect("connect"),
            ),
            Probe::Sqlite(_) => unreachable!("SQLite has no server"),
        }
    }

    async fn run(&mut self, sql: &'static str) {
        match self {
            Side::Postgres(conn) => sqlx::raw_sql(sql).execute(conn).await.map(drop),
            Side::Mysql(conn) => sqlx::raw_sql(sql).execute(conn).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Statements of this database waiting on a lock.
    async fn waiting(&mut self) -> i64 {
        match self {
            Side::Postgres(conn) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'strata' AND wait_event_type = 'Lock'",
                )
                .fetch_one(conn)
                .await
            }
            Side::Mysql(conn) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() \
                 AND STATE LIKE 'Waiting for table%'",
                )
                .fetch_one(conn)
                .await
            }
        }
        .expect("statements waiting on a lock")
    }
}

/// Run `reads` while another connection holds an exclusive lock on `posts` for half a second: what they
/// answer, and the most statements seen waiting on the lock at once.
pub(crate) async fn waiting_on_a_lock<F: Future>(probe: &Probe, reads: F) -> (F::Output, i64) {
    let mut locker = Side::open(probe).await;
    let mut watcher = Side::open(probe).await;
    let unlock = match locker {
        Side::Postgres(_) => {
            locker
                .run("BEGIN; LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
                .await;
            "COMMIT"
        }
        Side::Mysql(_) => {
            locker.run("LOCK TABLES posts WRITE").await;
            "UNLOCK TABLES"
        }
    };
    let watch = async {
        let mut most = 0;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(25)).await;
            most = most.max(watcher.waiting().await);
        }
        locker.run(unlock).await;
        most
    };
    tokio::join!(reads, watch)
}
