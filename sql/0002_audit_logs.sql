-- 0002 — Journal d'audit en ajout seul.
-- Idempotente. Trois protections : pas de droit UPDATE/DELETE/TRUNCATE pour fiable_app (0004),
-- des déclencheurs par ligne qui refusent UPDATE et DELETE, et un déclencheur d'instruction
-- qui refuse TRUNCATE (TRUNCATE ignore les déclencheurs DELETE), même pour le propriétaire.

CREATE TABLE IF NOT EXISTS audit_logs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    action      text        NOT NULL CHECK (action ~ '^[a-z_.]{1,64}$'),
    entity      text        NOT NULL,
    entity_id   text,
    actor       text,
    client_addr text,
    user_agent  text,
    request_id  text,
    details     jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS audit_logs_created_at_idx ON audit_logs (created_at);
CREATE INDEX IF NOT EXISTS audit_logs_entity_idx ON audit_logs (entity, entity_id);

CREATE OR REPLACE FUNCTION audit_logs_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs est en ajout seul : % refusé', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER IF EXISTS audit_logs_no_update_delete ON audit_logs;
CREATE TRIGGER audit_logs_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_reject_change();

DROP TRIGGER IF EXISTS audit_logs_no_truncate ON audit_logs;
CREATE TRIGGER audit_logs_no_truncate
    BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_reject_change();
