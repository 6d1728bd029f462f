-- 5: a step's retried attempts (when each ran, why it failed, when the next
-- began), as JSON text; NULL for a step that passed at its first attempt.

ALTER TABLE {schema}.steps ADD COLUMN retries text;
ALTER TABLE {schema}.retired_steps ADD COLUMN retries text;
