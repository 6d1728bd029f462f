-- 4: whether a waiter in another process asked to hear of the run's end
-- (`Store::watch_end`): only then does ending it send a notice, since a
-- commit that notifies takes a database-wide lock and so serializes with
-- every other such commit.
ALTER TABLE {schema}.runs ADD COLUMN end_watched boolean NOT NULL DEFAULT false;
