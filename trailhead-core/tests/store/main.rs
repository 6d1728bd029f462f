//! The store conformance suite: the same tests, through the public `Store`
//! and `RunWriter` API only, against every store, so each keeps the rules
//! `trailhead_core::store` documents (and the typed errors it names) the same
//! way.
//!
//! Each test is a generic `async fn` over a [`backend::Backend`]; the
//! `store_tests!` macro instantiates the whole list once per store, in a
//! module named after it, so one store's half runs alone:
//!
//! ```text
//! cargo test -p trailhead-core --test store memory::
//! cargo test -p trailhead-core --test store sqlite::
//! cargo test -p trailhead-core --test store postgres::
//! ```
//!
//! Stores that several workers share (a SQLite file, a PostgreSQL schema)
//! also run the lease tests (`shared_store_tests!`): a second worker on the
//! same data, and a worker that ends while a handle it gave out lives on.
//!
//! PostgreSQL also runs the tests of named resources held fleet-wide
//! (`fleet_resource_tests!`); the memory and SQLite stores keep none.
//!
//! PostgreSQL's half is built with the crate's `postgres` feature, which the
//! crate's dev-dependency on itself turns on for every test build (see
//! trailhead-core's Cargo.toml); its server comes from
//! `trailhead-test-postgres` (a throwaway cluster, or `DATABASE_URL`).

mod backend;
mod cancels;
mod claims;
mod compensation;
mod fixtures;
mod fleet;
mod journal;
mod leases;
mod listing;
mod removal;
mod reopen;
mod resources;
mod retention;
mod runs;
mod schedules;
mod signals;
mod values;

/// `mod <module> { #[tokio::test] async fn <test>() { crate::<module>::<test>::<Backend>() } }`.
macro_rules! tests {
    ($backend:ty; $module:ident: $($test:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::$module::$test::<$backend>().await;
                }
            )*
        }
    };
}

/// Every test a store must pass, for store `$backend`.
macro_rules! store_tests {
    ($backend:ty) => {
        tests!($backend; runs:
            a_created_run_is_recorded_as_given,
            every_state_a_run_is_created_in_reads_back,
            a_taken_id_is_refused_and_the_first_run_kept,
            an_unknown_run_has_no_record_and_no_journal,
            opening_an_unknown_run_gives_none,
            opening_a_run_gives_its_record_its_journal_in_order_and_a_live_handle,
            finish_records_the_outcome_at_the_time_it_is_recorded,
            every_outcome_is_recorded_as_given,
            finishing_twice_is_refused_and_keeps_the_first_outcome,
            an_ended_run_opens_with_a_handle_that_writes_nothing,
        );
        tests!($backend; journal:
            the_journal_keeps_the_order_steps_were_written_in,
            a_step_journaled_twice_is_refused_and_the_first_entry_kept,
            the_same_step_name_under_another_path_is_another_step,
            a_step_after_finish_is_refused,
            each_runs_journal_is_its_own,
            a_steps_retries_read_back_as_written,
        );
        tests!($backend; signals:
            signals_of_one_name_are_received_in_the_order_sent,
            a_signal_is_received_by_one_step_only,
            a_step_asking_again_gets_the_signal_it_received,
            no_signal_yet_gives_none_until_one_is_sent,
            a_signal_to_an_unknown_run_is_refused,
            a_signal_to_a_finished_run_is_refused,
        );
        tests!($backend; reopen:
            reopening_an_unknown_run_is_refused,
            a_run_that_has_not_ended_or_completed_cannot_be_reopened,
            a_reopened_failed_run_runs_again_with_its_failed_entries_set_aside,
            a_cancelled_run_can_be_reopened,
            a_reopened_run_can_be_finished_again,
        );
        tests!($backend; compensation:
            a_running_run_is_undone_through_the_handle_it_gets,
            a_completed_child_run_is_undone_with_its_output_kept,
            a_resumed_rollback_keeps_the_outcome_recorded_first,
            a_failed_or_cancelled_run_cannot_be_undone,
            a_completed_top_level_run_cannot_be_undone,
            a_run_whose_compensation_ended_cannot_be_undone_again,
            undoing_an_unknown_run_is_refused,
        );
        tests!($backend; listing:
            runs_are_listed_oldest_first,
            runs_are_listed_by_status,
            children_are_the_runs_a_run_started_oldest_first,
        );
        tests!($backend; removal:
            removing_an_unknown_run_is_refused,
            a_removed_run_is_gone_with_its_journal_signals_and_descendants,
            a_removed_id_can_be_used_again,
            a_run_that_has_not_ended_is_not_removable,
            a_run_with_a_descendant_that_has_not_ended_is_not_removable,
            a_child_whose_parent_has_not_ended_is_not_removable,
            a_child_of_an_ended_parent_is_removed_alone,
        );
        tests!($backend; retention:
            a_retention_that_keeps_everything_removes_nothing,
            the_newest_are_kept_per_kind_of_ending,
            runs_older_than_their_kinds_duration_are_removed,
            unended_runs_and_parents_of_unended_children_stay,
            child_runs_go_with_their_parent_and_are_not_counted,
        );
        tests!($backend; cancels:
            a_cancel_asked_of_a_running_run_is_recorded_on_it,
            a_cancel_asked_of_an_ended_or_unknown_run_is_refused,
            the_holder_is_told_of_its_running_runs_asked_to_cancel,
            a_sleeping_run_asked_to_cancel_is_due_at_once,
            a_reopened_run_forgets_the_cancel_asked,
        );
        tests!($backend; schedules:
            a_registered_schedule_keeps_its_state_when_registered_again,
            a_tick_reported_twice_counts_once,
            two_workers_reporting_ticks_at_once_count_each_once,
            schedules_are_listed_by_name_and_removed,
        );
        tests!($backend; values:
            values_read_back_byte_for_byte,
            every_step_outcome_reads_back,
        );
        tests!($backend; fleet:
            an_enqueued_run_is_claimed_once_and_then_held,
            runs_of_other_definitions_are_left,
            a_claim_takes_at_most_its_limit_highest_priority_first,
            a_queue_is_claimed_only_by_workers_that_serve_it,
            a_queues_concurrency_counts_runs_in_flight,
            a_queues_rate_counts_runs_started_in_its_window,
            a_dedup_key_gives_the_first_run,
            a_released_run_is_claimable_from_its_wake_up_time,
            the_fleet_shows_workers_and_queues,
        );
    };
}

/// The lease tests, for stores several workers share.
macro_rules! shared_store_tests {
    ($backend:ty) => {
        tests!($backend; leases:
            workers_have_their_own_ids,
            a_run_held_by_a_live_worker_is_refused_to_another,
            a_worker_opening_its_own_run_again_keeps_writing,
            an_ended_workers_run_is_taken_over_with_its_journal,
            a_worker_whose_run_was_taken_over_writes_nothing,
            a_rollback_taken_over_fences_the_first_workers_compensations,
            a_reopened_run_belongs_to_the_worker_that_reopened_it,
            a_finished_run_is_held_by_no_one,
            each_worker_is_told_only_of_the_runs_it_holds,
        );
        tests!($backend; claims:
            concurrent_claimers_get_disjoint_runs,
            a_gone_workers_runs_are_claimed_by_the_next,
            a_queue_limit_holds_across_workers,
        );
    };
}

/// The tests of named resources held fleet-wide, for shared stores that
/// keep their places (`Store::resources`).
macro_rules! fleet_resource_tests {
    ($backend:ty) => {
        tests!($backend; resources:
            a_resource_has_its_limit_of_places_for_all_workers,
            a_stale_release_leaves_the_next_holder_its_place,
            a_gone_workers_places_are_free,
            workers_asking_at_once_get_no_more_than_the_limit,
        );
    };
}

mod memory {
    store_tests!(crate::backend::Memory);
}

mod sqlite {
    store_tests!(crate::backend::Sqlite);
    shared_store_tests!(crate::backend::Sqlite);
}

#[cfg(feature = "postgres")]
mod postgres {
    store_tests!(crate::backend::Postgres);
    shared_store_tests!(crate::backend::Postgres);
    fleet_resource_tests!(crate::backend::Postgres);
}
