-- 4: the runs a waiter in another process asked to hear the end of
-- (`Store::watch_end`): only their end sends a notice, since a commit that
-- notifies takes a database-wide lock and so serializes with every other
-- such commit. A table of its own, not a flag on the run's row: updating
-- the row would lock it, and the claims' `SKIP LOCKED` would pass the run
-- by. Ending the run deletes its row here.
CREATE TABLE {schema}.end_watchers (
    run_id text PRIMARY KEY
);
