//! The repository contract (STYLE.md "Tests"): one set of stories, each run on SQLite, PostgreSQL and
//! MariaDB/MySQL with a fresh database, so every backend keeps the same promises.

mod concurrent_stories;
mod creates_together_stories;
mod differential_stories;
mod filter_stories;
mod fixtures;
mod harness;
mod idempotency_stories;
mod record_stories;
mod rule_stories;
mod schema_stories;
mod sessions;
mod together_stories;
mod visibility_stories;
mod write_stories;

/// One test per story and backend: `sqlite::story`, `postgres::story`, `mysql::story`.
macro_rules! stories {
    ($($module:ident::$story:ident),* $(,)?) => {
        stories!(@backend sqlite, Sqlite, $($module::$story),*);
        stories!(@backend postgres, Postgres, $($module::$story),*);
        stories!(@backend mysql, Mysql, $($module::$story),*);
    };
    (@backend $name:ident, $backend:ident, $($module:ident::$story:ident),*) => {
        mod $name {
            $(
                #[tokio::test]
                async fn $story() {
                    fn story<'a>(
                        store: &'a dyn strata_store::RecordStore,
                        probe: &'a crate::harness::Probe,
                    ) -> futures::future::BoxFuture<'a, ()> {
                        Box::pin(crate::$module::$story(store, probe))
                    }
                    crate::harness::run(crate::harness::Backend::$backend, story).await;
                }
            )*
        }
    };
}

stories!(
    differential_stories::random_filters_agree_with_the_evaluator,
    schema_stories::migrating_twice_changes_nothing_the_second_time,
    schema_stories::adding_a_field_is_additive_and_keeps_the_records,
    schema_stories::removing_a_field_is_refused_unless_destruction_is_allowed,
    record_stories::every_type_round_trips_exactly,
    record_stories::lists_sort_and_keyset_pages_visit_every_row_once,
    record_stories::lists_count_and_take_an_offset,
    write_stories::a_unique_violation_names_the_field,
    write_stories::an_update_checks_the_version_it_was_asked_for,
    write_stories::relations_restrict_cascade_and_set_null_on_delete,
    write_stories::a_failing_op_rolls_back_the_whole_batch,
    write_stories::every_write_leaves_its_outbox_event,
    concurrent_stories::writes_sent_together_commit_or_fail_alone,
    together_stories::reads_sent_together_each_get_their_own,
    creates_together_stories::creates_sent_together_commit_together,
    filter_stories::filters_select_what_the_evaluator_accepts,
    rule_stories::rules_checked_in_a_write_refuse_it_whole,
    rule_stories::reads_by_id_compiled_once_still_answer_each_caller,
    idempotency_stories::idempotency_keys_go_from_claimed_to_done,
    visibility_stories::a_callers_filter_sort_and_cursor_read_hidden_values_as_null,
    visibility_stories::read_rules_that_follow_relations_are_decided_in_sql,
);
