//! The store's statements, with its schema spliced in once at connect.
//!
//! No statement takes text from anywhere but this file and the checked
//! schema name ([`SchemaName`]); every value is a bind parameter.

use std::sync::Arc;

use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::query::Query;

use super::schema_name::SchemaName;

/// The columns [`run_from_row`](super::rows::run_from_row) reads, in order.
pub(super) const RUN_COLUMNS: &str = "id, workflow, definition_hash, parent, input, input_codec, \
     status, outcome, outcome_codec, mermaid, created_at, finished_at, \
     cancel_requested_at IS NOT NULL";

/// The columns [`step_from_row`](super::rows::step_from_row) reads, in order.
pub(super) const STEP_COLUMNS: &str =
    "key, outcome, codec, attempts, started_at, finished_at, retries";

/// Statuses of a run that has not ended, as SQL.
pub(super) const UNFINISHED: &str = "('running', 'compensating')";

/// A statement, shared by every call (cloning it copies no text).
#[derive(Debug, Clone)]
pub(super) struct Statement(Arc<str>);

impl Statement {
    fn new(schema: &str, template: &str) -> Self {
        Self(template.replace("{s}", schema).into())
    }

    /// The statement, ready for its bind parameters.
    pub(super) fn query(&self) -> Query<'_, Postgres, PgArguments> {
        sqlx::query(self.text())
    }

    /// The statement's text, for `sqlx::query_scalar` and the like.
    pub(super) fn text(&self) -> AssertSqlSafe<Arc<str>> {
        AssertSqlSafe(Arc::clone(&self.0))
    }
}

/// Every statement the store runs more than once.
#[derive(Debug)]
pub(super) struct Sql {
    /// The quoted schema, for the statements built where they are used.
    pub(super) schema: String,
    pub(super) insert_run: Statement,
    pub(super) claim_look: Statement,
    pub(super) claim_take: Statement,
    pub(super) record_step: Statement,
    pub(super) record_steps: Statement,
    pub(super) record_checkpoint: Statement,
    pub(super) next_generation: Statement,
    pub(super) forget_generation: [Statement; 3],
    pub(super) holds_at: Statement,
    pub(super) watch_end: Statement,
    pub(super) finish: Statement,
    pub(super) status_of: Statement,
    pub(super) send_signal: Statement,
    pub(super) request_cancel: Statement,
    pub(super) cancel_requests: Statement,
    pub(super) owner_holds: Statement,
    pub(super) signal_received: Statement,
    pub(super) signal_waiting: Statement,
    pub(super) signal_take: Statement,
    pub(super) reopen: Statement,
    pub(super) retire: Statement,
    pub(super) unjournal_retired: Statement,
    pub(super) compensate: Statement,
    pub(super) run: Statement,
    pub(super) own_run: Statement,
    pub(super) journal: Statement,
    pub(super) list_all: Statement,
    pub(super) list_status: Statement,
    pub(super) children: Statement,
    pub(super) register_worker: Statement,
    pub(super) heartbeat: Statement,
    pub(super) delete_worker: Statement,
}

/// Entries a retried run loses from its journal: failed steps,
/// compensations, and the steps those compensations undid (all run again).
/// A failed step's outcome is `{"Failed": …}`: in CBOR a map of one entry
/// (`a1`) whose key is the text `Failed` (`66 4661696c6564`).
const RETIRED: &str = "(substring(outcome FROM 1 FOR 8) = '\\xa1664661696c6564'::bytea
    OR substring(outcome FROM 1 FOR 9) = convert_to('{\"Failed\"', 'UTF8')
    OR key LIKE 'undo:%'
    OR 'undo:' || key IN (SELECT undo.key FROM {s}.steps AS undo WHERE undo.run_id = steps.run_id))";

impl Sql {
    pub(super) fn new(schema: &SchemaName) -> Self {
        let s = schema.quoted();
        let new = |template: &str| Statement::new(&s, template);
        Self {
            insert_run: new(
                "INSERT INTO {s}.runs (id, workflow, definition_hash, parent, input, input_codec, status,
                     outcome, outcome_codec, mermaid, created_at, finished_at, lease_owner, lease_epoch,
                     started_at, claimed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, now(), now())",
            ),
            // Locks the run's row for the claim's transaction: a fenced write
            // of the previous owner waits for it, or it for the write.
            claim_look: new(
                "SELECT r.status, r.lease_owner, r.lease_epoch, coalesce(w.expires_at > now(), false)
                 FROM {s}.runs AS r LEFT JOIN {s}.workers AS w ON w.id = r.lease_owner
                 WHERE r.id = $1 FOR UPDATE OF r",
            ),
            claim_take: new(
                "UPDATE {s}.runs SET lease_owner = $2, lease_epoch = lease_epoch + 1,
                     started_at = coalesce(started_at, now()), claimed_at = now()
                 WHERE id = $1 RETURNING lease_epoch",
            ),
            // A batch of entries (see `batch`), each fenced in the
            // statement: its run's row is read FOR SHARE, so a takeover's
            // UPDATE waits for the insert to commit, and an insert that
            // waited for a takeover reads the new owner and inserts nothing.
            // Those inserted come back.
            // One entry alone, fenced the same way: a lighter statement to
            // plan and run than the batch's arrays.
            record_step: new(&format!(
                "INSERT INTO {{s}}.steps (run_id, key, outcome, codec, attempts, started_at, finished_at, lease_epoch, retries)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $10 FROM {{s}}.runs
                 WHERE id = $1 AND lease_owner = $9 AND lease_epoch = $8 AND status IN {UNFINISHED}
                 FOR SHARE
                 ON CONFLICT (run_id, key) DO NOTHING"
            )),
            // `continue_as_new`: the new input, fenced by the lease (the row
            // stays locked for the rest of the transaction).
            next_generation: new(
                "UPDATE {s}.runs SET input = $2, input_codec = $3
                 WHERE id = $1 AND status = 'running' AND lease_owner = $4 AND lease_epoch = $5",
            ),
            // …and what the generation before kept, but its unreceived signals.
            forget_generation: [
                new("DELETE FROM {s}.steps WHERE run_id = $1"),
                new("DELETE FROM {s}.retired_steps WHERE run_id = $1"),
                new("DELETE FROM {s}.signals WHERE run_id = $1 AND received_by IS NOT NULL"),
            ],
            // A stream loop's checkpoint replaces the one before under its
            // key (keeping its `seq`), fenced like an entry.
            record_checkpoint: new(&format!(
                "INSERT INTO {{s}}.steps (run_id, key, outcome, codec, attempts, started_at, finished_at, lease_epoch, retries)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $10 FROM {{s}}.runs
                 WHERE id = $1 AND lease_owner = $9 AND lease_epoch = $8 AND status IN {UNFINISHED}
                 FOR SHARE
                 ON CONFLICT (run_id, key) DO UPDATE SET outcome = excluded.outcome, codec = excluded.codec,
                     attempts = excluded.attempts, finished_at = excluded.finished_at,
                     lease_epoch = excluded.lease_epoch, retries = excluded.retries"
            )),
            record_steps: new(&format!(
                "WITH entry AS (
                     SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::int8[],
                                          $6::int8[], $7::int8[], $8::int8[], $10::text[])
                         AS u(run_id, key, outcome, codec, attempts, started_at, finished_at, lease_epoch,
                              retries)),
                 fenced AS (
                     SELECT entry.* FROM entry JOIN {{s}}.runs AS r
                         ON r.id = entry.run_id AND r.lease_owner = $9 AND r.lease_epoch = entry.lease_epoch
                            AND r.status IN {UNFINISHED}
                     FOR SHARE OF r)
                 INSERT INTO {{s}}.steps (run_id, key, outcome, codec, attempts, started_at, finished_at, lease_epoch,
                                          retries)
                 SELECT run_id, key, outcome, codec, attempts, started_at, finished_at, lease_epoch, retries
                 FROM fenced
                 ON CONFLICT (run_id, key) DO NOTHING
                 RETURNING run_id, key"
            )),
            // Not a flag on the run's row: its row lock would make the
            // claims' SKIP LOCKED pass the run by.
            watch_end: new(&format!(
                "INSERT INTO {{s}}.end_watchers (run_id)
                 SELECT id FROM {{s}}.runs WHERE id = $1 AND status IN {UNFINISHED}
                 ON CONFLICT DO NOTHING"
            )),
            // Whether this worker still holds the run at the epoch (an entry
            // a batch did not insert was then a duplicate key).
            holds_at: new(&format!(
                "SELECT 1 FROM {{s}}.runs
                 WHERE id = $1 AND lease_owner = $2 AND lease_epoch = $3 AND status IN {UNFINISHED}"
            )),
            // Ending the run releases its lease and, with notices on, tells
            // the handles in other processes that asked (`watch_end`), in
            // the same statement and commit. A run no one waits for ends
            // without a notice: a notifying commit serializes with all the
            // others.
            finish: new(&format!(
                "WITH ended AS (
                     UPDATE {{s}}.runs SET status = $2, outcome = $3, outcome_codec = $4, finished_at = $5,
                         lease_owner = NULL
                     WHERE id = $1 AND lease_owner = $6 AND lease_epoch = $7 AND status IN {UNFINISHED}
                     RETURNING id),
                 watched AS (
                     DELETE FROM {{s}}.end_watchers
                     WHERE run_id = $1 AND EXISTS (SELECT 1 FROM ended)
                     RETURNING run_id)
                 SELECT (SELECT count(*) FROM ended),
                        CASE WHEN $8 AND EXISTS (SELECT 1 FROM watched)
                             THEN pg_notify($9, 'ended:' || $1)::text END"
            )),
            status_of: new("SELECT status FROM {s}.runs WHERE id = $1"),
            send_signal: new(
                "INSERT INTO {s}.signals (run_id, name, payload, codec)
                 SELECT $1, $2, $3, $4 FROM {s}.runs WHERE id = $1 AND status = 'running' FOR SHARE",
            ),
            // The request and its notice, in one statement and one commit.
            // A run that holds no lease is due now: a worker claims it and
            // stops it.
            request_cancel: new(&format!(
                "WITH asked AS (
                     UPDATE {{s}}.runs SET cancel_requested_at = coalesce(cancel_requested_at, now()),
                         run_at = CASE WHEN lease_owner IS NULL THEN least(run_at, now())
                                       ELSE run_at END
                     WHERE id = $1 AND status IN {UNFINISHED}
                     RETURNING id)
                 SELECT count(*), CASE WHEN $2 AND count(*) > 0
                                       THEN pg_notify($3, 'cancel:' || $1)::text END
                 FROM asked"
            )),
            cancel_requests: new(
                "SELECT id FROM {s}.runs
                 WHERE lease_owner = $1 AND cancel_requested_at IS NOT NULL AND status = 'running'",
            ),
            owner_holds: new("SELECT 1 FROM {s}.runs WHERE id = $1 AND lease_owner = $2 FOR SHARE"),
            signal_received: new(
                "SELECT payload, codec FROM {s}.signals WHERE run_id = $1 AND received_by = $2",
            ),
            // SKIP LOCKED: two steps of one run receiving at once take two
            // signals, not one each.
            signal_waiting: new(
                "SELECT id, payload, codec FROM {s}.signals
                 WHERE run_id = $1 AND name = $2 AND received_by IS NULL
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
            ),
            signal_take: new("UPDATE {s}.signals SET received_by = $2 WHERE id = $1"),
            reopen: new(
                "UPDATE {s}.runs SET status = 'running', outcome = NULL, outcome_codec = NULL,
                     finished_at = NULL, lease_owner = $2, lease_epoch = lease_epoch + 1,
                     cancel_requested_at = NULL
                 WHERE id = $1 AND status IN ('failed', 'cancelled', 'compensated')
                 RETURNING lease_epoch",
            ),
            retire: new(&format!(
                "INSERT INTO {{s}}.retired_steps (run_id, key, outcome, codec, attempts, started_at,
                     finished_at, lease_epoch, retries, retired_at)
                 SELECT run_id, key, outcome, codec, attempts, started_at, finished_at, lease_epoch, retries, $2
                 FROM {{s}}.steps WHERE run_id = $1 AND {RETIRED} ORDER BY seq"
            )),
            unjournal_retired: new(&format!(
                "DELETE FROM {{s}}.steps WHERE run_id = $1 AND {RETIRED}"
            )),
            // A resumed rollback (already compensating) keeps the outcome it
            // had; only a child run is undone after it completed.
            compensate: new(
                "UPDATE {s}.runs SET status = 'compensating', outcome = $2, outcome_codec = $3,
                     finished_at = NULL
                 WHERE id = $1 AND (status = 'running' OR (status = 'completed' AND parent IS NOT NULL))",
            ),
            run: new(&format!("SELECT {RUN_COLUMNS} FROM {{s}}.runs WHERE id = $1")),
            // An unfinished run this worker already holds (claimed in a
            // batch): read without a lock or a commit, its writes being
            // fenced by the epoch read here.
            own_run: new(&format!(
                "SELECT {RUN_COLUMNS}, lease_epoch FROM {{s}}.runs
                 WHERE id = $1 AND lease_owner = $2 AND status IN {UNFINISHED}"
            )),
            journal: new(&format!(
                "SELECT {STEP_COLUMNS} FROM {{s}}.steps WHERE run_id = $1 ORDER BY seq"
            )),
            list_all: new(&format!(
                "SELECT {RUN_COLUMNS} FROM {{s}}.runs ORDER BY created_at, id"
            )),
            list_status: new(&format!(
                "SELECT {RUN_COLUMNS} FROM {{s}}.runs WHERE status = $1 ORDER BY created_at, id"
            )),
            children: new(&format!(
                "SELECT {RUN_COLUMNS} FROM {{s}}.runs WHERE parent = $1 ORDER BY created_at, id"
            )),
            register_worker: new(
                "INSERT INTO {s}.workers (id, expires_at, host, pid)
                 VALUES ($1, now() + $2 * interval '1 microsecond', $3, $4)",
            ),
            // Renews the lease; answers whether it had not expired yet. A
            // row deleted behind the worker's back is written again.
            heartbeat: new(
                "WITH before AS (SELECT expires_at > now() AS alive FROM {s}.workers WHERE id = $1),
                 renewed AS (
                     INSERT INTO {s}.workers (id, expires_at, host, pid)
                     VALUES ($1, now() + $2 * interval '1 microsecond', $3, $4)
                     ON CONFLICT (id) DO UPDATE
                         SET heartbeat_at = now(), expires_at = excluded.expires_at
                     RETURNING 1)
                 SELECT coalesce((SELECT alive FROM before), false) AND EXISTS (SELECT 1 FROM renewed)",
            ),
            delete_worker: new("DELETE FROM {s}.workers WHERE id = $1"),
            schema: s.clone(),
        }
    }
}
