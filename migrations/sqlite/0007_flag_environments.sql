-- A flag has its own state in each environment: enabled, exposure, allow and
-- deny lists. A phase changes only its own environment's row; an
-- environment without a row is off. Existing flags keep their state in the
-- environment of the plan's running phase (the last phase that started; the
-- first phase of a plan that never started); the other environments start
-- off, which only ever lowers exposure.
CREATE TABLE flag_states (
    plan_id TEXT NOT NULL REFERENCES plans (id),
    environment TEXT NOT NULL,
    enabled BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    exposure_bp BIGINT NOT NULL CHECK (exposure_bp BETWEEN 0 AND 10000),
    -- JSON arrays of entity ids.
    allow_list TEXT NOT NULL,
    deny_list TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (plan_id, environment)
);

INSERT INTO flag_states (plan_id, environment, enabled, exposure_bp, allow_list, deny_list, updated_at_ms)
SELECT f.plan_id,
       COALESCE(
           (SELECT p.environment FROM phases p
             WHERE p.plan_id = f.plan_id AND p.status <> 'pending'
             ORDER BY p.position DESC LIMIT 1),
           (SELECT p.environment FROM phases p
             WHERE p.plan_id = f.plan_id ORDER BY p.position LIMIT 1),
           'production'),
       f.enabled, f.exposure_bp, f.allow_list, f.deny_list, f.updated_at_ms
  FROM flags f;

ALTER TABLE flags DROP COLUMN enabled;
ALTER TABLE flags DROP COLUMN exposure_bp;
ALTER TABLE flags DROP COLUMN allow_list;
ALTER TABLE flags DROP COLUMN deny_list;

-- A token that evaluates flags is bound to one environment (NULL: a token
-- for other scopes, or one made before environments; it must then name the
-- environment on each evaluation).
ALTER TABLE api_tokens ADD COLUMN environment TEXT;
