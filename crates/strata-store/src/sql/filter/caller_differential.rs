//! A caller's own filter against the evaluator on a real SQLite database, as in [`super::differential`], with
//! each row as that caller reads it: hidden by read rules, relations reaching only records it may view.

use super::differential::{
    EXPRESSIONS, as_read_by, checked, database, eval_results, matching, posts, sql_results_as,
};
use super::tests::{schema, user};
use super::*;

#[test]
fn a_callers_filter_sees_each_row_as_the_caller_reads_it() {
    let schema = schema();
    let rows = posts();
    let conn = database(&rows);
    let mut masked_somewhere = false;
    for principal in [user(), Principal::anonymous()] {
        let read = as_read_by(&rows, &principal, &schema);
        for src in EXPRESSIONS {
            let expr = checked(src, &schema).unwrap_or_else(|e| panic!("{src}: {e}"));
            let sql = sql_results_as(&conn, &expr, &principal, &schema, Reading::AsCaller);
            assert_eq!(
                sql,
                eval_results(&expr, &read, &principal, &schema),
                "{src} as {:?}",
                principal.kind
            );
            masked_somewhere |= sql != eval_results(&expr, &rows, &principal, &schema);
        }
    }
    assert!(masked_somewhere, "some filter must see a hidden value");
}

#[test]
fn a_callers_relation_steps_read_null_where_it_may_not_view() {
    let schema = schema();
    let conn = database(&posts());
    let matching = |src: &str, principal: &Principal| {
        matching(&conn, &schema, src, principal, Reading::AsCaller)
    };
    // Users may view only themselves: Bob (the caller) reaches his own record, never Ann's.
    assert_eq!(matching("author.name = 'Bob'", &user()), [1, 5]);
    assert_eq!(matching("author.name ~ 'AN'", &user()), [0u128; 0]);
    assert_eq!(matching("author.name = null", &user()), [2, 3, 4, 6, 7]);
    assert_eq!(
        matching("author.name = null", &Principal::anonymous()),
        [1, 2, 3, 4, 5, 6, 7]
    );
    // Comments are visible to their authors; the one comment is Bob's.
    assert_eq!(
        matching("comments_via_post.author ?= @auth.id", &user()),
        [2]
    );
}
