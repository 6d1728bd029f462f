-- 3: the places of named resources, held fleet-wide (see
-- `store::resource`). One row per place taken: resource `resource` has
-- `limit` places, numbered from 0, and a place is free when no row names
-- it. A row whose worker is gone (expired or closed) frees its place: the
-- next worker that takes a place in the resource deletes it. Taking a place
-- counts the resource's rows under an advisory lock keyed on the resource,
-- so two workers never both see the same room.
CREATE TABLE {schema}.resource_places (
    resource text NOT NULL,
    place integer NOT NULL,
    -- Which taking of the place: releasing it deletes this one only, never
    -- a later holder's.
    holding bigint GENERATED ALWAYS AS IDENTITY,
    worker text NOT NULL,
    -- What holds it, for operators.
    run_id text NOT NULL,
    step text NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource, place)
);
