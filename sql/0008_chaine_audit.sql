-- 0008 — Chaîne d'empreintes du journal d'audit : chaque ligne porte le SHA-256 de la
-- précédente et de son propre contenu. Modifier, retirer ou intercaler une ligne casse la
-- chaîne à cet endroit ; fiable-verify-audit nomme la première ligne cassée, et chaque
-- sauvegarde inscrit la tête de la chaîne (backup_metadata et manifeste) : réécrire toute la
-- chaîne après coup se voit en la comparant aux têtes des sauvegardes.
-- Idempotente. Retour arrière : 0008_chaine_audit.down.sql (les empreintes sont perdues, les
-- lignes du journal restent).
--
-- Les écrivains sont mis en file : le déclencheur prend un verrou consultatif de transaction,
-- gardé jusqu'à la validation, puis lit la dernière ligne validée. Deux transactions ne
-- peuvent donc pas chaîner sur le même maillon (l'index unique de chain_seq l'interdit de
-- toute façon). Toutes les écritures du journal se font en READ COMMITTED.
--
-- Empreinte d'une ligne : hash = hex(SHA-256(prev_hash || "\n" || audit_logs_canonical(ligne)))
-- en UTF-8, prev_hash valant 64 zéros pour la première. La forme canonique est un tableau
-- JSON des colonnes du contenu (l'heure en UTC, details en jsonb normalisé) : ce que
-- fiable-verify-audit recalcule de son côté avec OpenSSL.

ALTER TABLE audit_logs ADD COLUMN IF NOT EXISTS chain_seq bigint;
ALTER TABLE audit_logs ADD COLUMN IF NOT EXISTS prev_hash text;
ALTER TABLE audit_logs ADD COLUMN IF NOT EXISTS hash text;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'audit_logs_hash_check'
                   AND conrelid = 'audit_logs'::regclass) THEN
        ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_hash_check
            CHECK (hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$' AND chain_seq > 0);
    END IF;
END
$$;
CREATE UNIQUE INDEX IF NOT EXISTS audit_logs_chain_seq_idx ON audit_logs (chain_seq);

-- Le contenu d'une ligne, tel qu'il entre dans son empreinte.
CREATE OR REPLACE FUNCTION audit_logs_canonical(a audit_logs) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT json_build_array(a.id,
        to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        a.action, a.entity, a.entity_id, a.actor, a.client_addr, a.user_agent, a.request_id,
        a.details)::text
$$;

CREATE OR REPLACE FUNCTION audit_logs_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    last_seq  bigint;
    last_hash text;
BEGIN
    -- Clé 7310012348 : celle de la chaîne d'audit (lib/backup.h tient 7310012346 et 7310012347).
    PERFORM pg_advisory_xact_lock(7310012348);
    SELECT chain_seq, hash INTO last_seq, last_hash
        FROM audit_logs WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1;
    NEW.chain_seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
    NEW.hash := encode(sha256(convert_to(NEW.prev_hash || E'\n' || audit_logs_canonical(NEW),
                                         'UTF8')), 'hex');
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION audit_logs_chain() FROM PUBLIC;

-- Les lignes déjà là, chaînées dans l'ordre de leurs identifiants (une seule fois : une ligne
-- déjà chaînée n'est pas touchée). La mise à jour, interdite d'ordinaire, n'est permise qu'ici,
-- dans la transaction de la migration.
DO $$
DECLARE
    r         audit_logs;
    last_seq  bigint;
    last_hash text;
BEGIN
    SELECT chain_seq, hash INTO last_seq, last_hash
        FROM audit_logs WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1;
    last_seq := coalesce(last_seq, 0);
    last_hash := coalesce(last_hash, repeat('0', 64));
    ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update_delete;
    FOR r IN SELECT * FROM audit_logs WHERE chain_seq IS NULL ORDER BY id LOOP
        last_seq := last_seq + 1;
        r.prev_hash := last_hash;
        last_hash := encode(sha256(convert_to(last_hash || E'\n' || audit_logs_canonical(r),
                                              'UTF8')), 'hex');
        UPDATE audit_logs SET chain_seq = last_seq, prev_hash = r.prev_hash, hash = last_hash
            WHERE id = r.id;
    END LOOP;
    ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_no_update_delete;
END
$$;
ALTER TABLE audit_logs ALTER COLUMN chain_seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL;

DROP TRIGGER IF EXISTS audit_logs_chain ON audit_logs;
CREATE TRIGGER audit_logs_chain
    BEFORE INSERT ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_chain();

-- La tête de la chaîne au moment de chaque sauvegarde.
ALTER TABLE backup_metadata ADD COLUMN IF NOT EXISTS audit_chain_seq bigint;
ALTER TABLE backup_metadata ADD COLUMN IF NOT EXISTS audit_chain_hash text;
