-- 2: cancel by id from any process. When cancelling an unfinished run was
-- asked (the database's clock); its owner finds the requests for the runs it
-- holds by index, and a worker that claims the run later cancels it at once.

ALTER TABLE {schema}.runs ADD COLUMN cancel_requested_at timestamptz;
CREATE INDEX runs_cancel_requested ON {schema}.runs (lease_owner)
    WHERE cancel_requested_at IS NOT NULL AND status = 'running';
