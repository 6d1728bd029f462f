-- 1: runs, their journals, signals, retired entries, and the workers that
-- own runs. `{schema}` is the store's schema, quoted, spliced in at connect.
--
-- Times the engine gives (a run's creation and end, a step's start and end)
-- are nanoseconds since the Unix epoch, as the engine's clock said, like the
-- SQLite store's. Times of leases and workers are the database's clock
-- (`now()`), never a worker's: liveness is judged by one clock.

CREATE TABLE {schema}.runs (
    id text PRIMARY KEY,
    workflow text NOT NULL,
    definition_hash bigint NOT NULL,
    parent text,
    input bytea NOT NULL,
    input_codec text NOT NULL,
    status text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled',
        'compensating', 'compensation_failed', 'compensated')),
    -- How the run ended, or how a compensating run will end.
    outcome bytea,
    outcome_codec text,
    mermaid text NOT NULL,
    created_at bigint NOT NULL,
    finished_at bigint,
    -- The lease (see `store::lease`): the worker that owns the unfinished run
    -- and the epoch of its claim, raised by every claim from another worker.
    lease_owner text,
    lease_epoch bigint NOT NULL DEFAULT 0,
    -- For the fleet: when an unowned run may be claimed, in which order, on
    -- which queue, and the business id that makes enqueuing idempotent.
    run_at timestamptz NOT NULL DEFAULT now(),
    priority integer NOT NULL DEFAULT 0,
    queue text,
    dedup_key text,
    -- When a worker first claimed the run (a queue's runs in flight and
    -- started per window are counted by it), and when its owner claimed it
    -- (the lease's age).
    started_at timestamptz,
    claimed_at timestamptz
);
CREATE INDEX runs_by_status ON {schema}.runs (status, created_at, id);
-- Finished top-level runs by kind and end: retention needs no scan.
CREATE INDEX runs_ended ON {schema}.runs (status, finished_at) WHERE parent IS NULL;
CREATE INDEX runs_by_parent ON {schema}.runs (parent, created_at, id) WHERE parent IS NOT NULL;
-- The runs a worker owns: what a dead worker leaves to take over.
CREATE INDEX runs_by_owner ON {schema}.runs (lease_owner) WHERE lease_owner IS NOT NULL;
-- Claimable runs: unfinished and unowned, best first.
CREATE INDEX runs_claimable ON {schema}.runs (queue, priority DESC, run_at, id)
    WHERE lease_owner IS NULL AND status IN ('running', 'compensating');
-- A queue's runs by when they started: its limits are counted by index.
CREATE INDEX runs_by_queue ON {schema}.runs (queue, started_at) WHERE queue IS NOT NULL;
-- One run per business id and queue.
CREATE UNIQUE INDEX runs_dedup ON {schema}.runs ((coalesce(queue, '')), dedup_key)
    WHERE dedup_key IS NOT NULL;

-- The journal: one entry per finished step, in the order written (`seq`).
CREATE TABLE {schema}.steps (
    run_id text NOT NULL,
    key text NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    outcome bytea NOT NULL,
    codec text NOT NULL,
    attempts bigint NOT NULL,
    started_at bigint NOT NULL,
    finished_at bigint NOT NULL,
    -- The lease epoch of the write: which claim of the run journaled it.
    lease_epoch bigint NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX steps_in_order ON {schema}.steps (run_id, seq);

-- Signals sent to runs; `received_by` is the step key that took each.
CREATE TABLE {schema}.signals (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text NOT NULL,
    name text NOT NULL,
    payload bytea NOT NULL,
    codec text NOT NULL,
    received_by text,
    sent_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signals_waiting ON {schema}.signals (run_id, name, id) WHERE received_by IS NULL;
CREATE UNIQUE INDEX signals_received ON {schema}.signals (run_id, received_by)
    WHERE received_by IS NOT NULL;

-- Failed step entries moved out of a journal when its run is retried.
CREATE TABLE {schema}.retired_steps (
    run_id text NOT NULL,
    key text NOT NULL,
    outcome bytea NOT NULL,
    codec text NOT NULL,
    attempts bigint NOT NULL,
    started_at bigint NOT NULL,
    finished_at bigint NOT NULL,
    lease_epoch bigint NOT NULL,
    retired_at bigint NOT NULL
);
CREATE INDEX retired_steps_by_run ON {schema}.retired_steps (run_id);

-- Workers: one per store instance. Alive while `expires_at` is ahead of the
-- database's clock; each renews it every lease/3.
CREATE TABLE {schema}.workers (
    id text PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    host text,
    pid integer
);
CREATE INDEX workers_by_expiry ON {schema}.workers (expires_at);
