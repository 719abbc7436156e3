-- Retour arrière de 0026_scellement_audit : les maillons scellés depuis 0026 sont recopiés
-- dans les colonnes chain_seq, prev_hash, hash de audit_logs (même formule), puis 0008 est
-- rejouée (elle chaîne les lignes encore en file, dans l'ordre de leurs ids, et remet le
-- déclencheur qui chaîne à l'ajout). À lancer avec psql depuis le dossier sql/ :
--   psql --single-transaction -f sql/0026_scellement_audit.down.sql
SELECT pg_advisory_xact_lock(7310012348);
ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update_delete;
UPDATE audit_logs AS a SET chain_seq = c.seq, prev_hash = c.prev_hash, hash = c.hash
    FROM audit_chain AS c WHERE c.audit_id = a.id AND a.chain_seq IS NULL;
ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_no_update_delete;
DROP TRIGGER IF EXISTS audit_logs_queue ON audit_logs;
DROP TRIGGER IF EXISTS audit_logs_chain ON audit_logs;
DROP FUNCTION IF EXISTS audit_logs_a_sceller();
DROP FUNCTION IF EXISTS audit_logs_sans_maillon();
DROP FUNCTION IF EXISTS audit_seal(integer);
DROP FUNCTION IF EXISTS metriques_audit();
DROP TABLE IF EXISTS audit_pending;
DROP TABLE IF EXISTS audit_chain;
DROP FUNCTION IF EXISTS ajout_seul_refuse();
\ir 0008_chaine_audit.sql
