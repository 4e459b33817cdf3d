-- The newest reading of each guardrail in each environment, kept beside the
-- readings so the plan page and the evaluator find it without scanning a
-- plan's whole history; and an index for reading a plan's newest readings
-- (the timeline, the automatic items' window) in time order.
CREATE TABLE guardrail_latest (
    plan_id TEXT NOT NULL REFERENCES plans (id),
    guardrail TEXT NOT NULL,
    environment TEXT NOT NULL,
    measurement_id TEXT NOT NULL REFERENCES guardrail_measurements (id),
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (plan_id, guardrail, environment)
);
INSERT INTO guardrail_latest (plan_id, guardrail, environment, measurement_id, at_ms)
SELECT m.plan_id, m.guardrail, m.environment, MIN(m.id), m.at_ms
FROM guardrail_measurements m
WHERE m.at_ms = (SELECT MAX(n.at_ms) FROM guardrail_measurements n
                 WHERE n.plan_id = m.plan_id AND n.guardrail = m.guardrail
                   AND n.environment = m.environment)
GROUP BY m.plan_id, m.guardrail, m.environment, m.at_ms;
CREATE INDEX guardrail_measurements_by_time ON guardrail_measurements (plan_id, at_ms);
