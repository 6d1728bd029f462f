-- 6: schedules. A schedule's record (its definition, last tick, counts) is
-- one JSON document, read under a row lock, changed and written back in one
-- transaction, never queried by field.

CREATE TABLE {schema}.schedules (
    name text PRIMARY KEY,
    workflow text NOT NULL,
    record text NOT NULL
);
