-- API tokens name their creator by id, not by username: disabling a person
-- revokes exactly the tokens they created. `created_by_id` is the user's id,
-- or `cli:<os user>` for tokens made on the command line. Existing rows take
-- it from their own token.create audit event, which recorded the actor.
ALTER TABLE api_tokens ADD COLUMN created_by_id TEXT NOT NULL DEFAULT '';
UPDATE api_tokens SET created_by_id = COALESCE(
    (SELECT NULLIF(e.actor_id, '') FROM audit_events e
      WHERE e.action = 'token.create' AND e.subject = 'token:' || api_tokens.id),
    'cli:' || created_by);
