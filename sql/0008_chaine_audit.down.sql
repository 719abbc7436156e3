-- Retire la chaîne d'empreintes du journal d'audit (0008) : le déclencheur, ses fonctions, les
-- trois colonnes (leurs valeurs sont perdues ; les lignes du journal restent) et la tête de
-- chaîne inscrite avec chaque sauvegarde (les manifestes déjà écrits la gardent).
DROP TRIGGER IF EXISTS audit_logs_chain ON audit_logs;
DROP FUNCTION IF EXISTS audit_logs_chain();
DROP FUNCTION IF EXISTS audit_logs_canonical(audit_logs);
DROP INDEX IF EXISTS audit_logs_chain_seq_idx;
ALTER TABLE audit_logs DROP CONSTRAINT IF EXISTS audit_logs_hash_check;
ALTER TABLE audit_logs
    DROP COLUMN IF EXISTS hash,
    DROP COLUMN IF EXISTS prev_hash,
    DROP COLUMN IF EXISTS chain_seq;
ALTER TABLE backup_metadata
    DROP COLUMN IF EXISTS audit_chain_hash,
    DROP COLUMN IF EXISTS audit_chain_seq;
