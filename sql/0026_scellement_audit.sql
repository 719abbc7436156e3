-- 0026 — La chaîne d'audit scellée après la validation (issue 18), comme un journal de
-- Certificate Transparency : une file d'entrées, un seul scelleur qui les intègre, un délai
-- de scellement borné.
--
-- Avant (0008), le déclencheur de chaque ajout au journal prenait le verrou de la chaîne et
-- le gardait jusqu'à la fin du COMMIT (écriture du WAL comprise, et l'aller-retour vers un
-- secondaire synchrone) : toutes les écritures de l'application passaient une à une.
-- Maintenant, la transaction qui écrit une ligne d'audit ne prend aucun verrou et ne lit aucun
-- maillon : un déclencheur calcule l'empreinte SHA-256 du contenu de la ligne
-- (content_hash = hex(SHA-256(audit_logs_canonical(ligne)))) et la met en file
-- (audit_pending), puis notifie « audit_seal » à la validation. fiable-audit-sealer prend les
-- lignes validées de la file et ajoute leurs maillons à audit_chain, en une transaction par
-- lot, sous le verrou de la chaîne, qu'il est seul à prendre : l'ordre de la chaîne est
-- l'ordre de scellement (une ligne validée tard avec un petit id est scellée plus tard).
--
-- Maillon : hash = hex(SHA-256(prev_hash || "\n" || audit_logs_canonical(ligne))), la même
-- formule qu'en 0008 ; prev_hash vaut 64 zéros pour le premier. Les maillons déjà calculés
-- (colonnes chain_seq, prev_hash, hash de audit_logs) sont recopiés tels quels dans
-- audit_chain et restent dans audit_logs : la chaîne continue depuis leur tête, sans rupture.
-- Les trois colonnes de 0008 ne sont plus remplies (NULL pour les lignes nouvelles).
--
-- Entre la validation d'une ligne et son scellement, le propriétaire de la base pourrait la
-- modifier sans casser la chaîne : c'est la fenêtre que fiable-verify-audit borne
-- (FIABLE_AUDIT_SEAL_MAX_S) et que /api/health et l'alerte audit_non_scelle surveillent.
-- Idempotente. Retour arrière : 0026_scellement_audit.down.sql.

-- Le verrou de la chaîne (clé 7310012348, celle de 0008), pendant la migration.
SELECT pg_advisory_xact_lock(7310012348);

-- Refuse UPDATE, DELETE et TRUNCATE d'une table en ajout seul.
CREATE OR REPLACE FUNCTION ajout_seul_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% est en ajout seul : % refusé', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- La chaîne : un maillon par ligne du journal, dans l'ordre de scellement.
CREATE TABLE IF NOT EXISTS audit_chain (
    seq          bigint PRIMARY KEY CHECK (seq > 0),
    audit_id     bigint NOT NULL UNIQUE,
    content_hash text   NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    prev_hash    text   NOT NULL UNIQUE CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash         text   NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    sealed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
DROP TRIGGER IF EXISTS audit_chain_no_update_delete ON audit_chain;
CREATE TRIGGER audit_chain_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION ajout_seul_refuse();
DROP TRIGGER IF EXISTS audit_chain_no_truncate ON audit_chain;
CREATE TRIGGER audit_chain_no_truncate
    BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION ajout_seul_refuse();

-- La file : les lignes validées pas encore scellées, avec l'empreinte de leur contenu.
CREATE TABLE IF NOT EXISTS audit_pending (
    audit_id     bigint PRIMARY KEY,
    content_hash text   NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    queued_at    timestamptz NOT NULL DEFAULT now()
);

-- Les maillons de 0008, recopiés tels quels (l'empreinte du contenu recalculée ici).
INSERT INTO audit_chain (seq, audit_id, content_hash, prev_hash, hash, sealed_at)
    SELECT a.chain_seq, a.id,
           encode(sha256(convert_to(audit_logs_canonical(a), 'UTF8')), 'hex'),
           a.prev_hash, a.hash, a.created_at
    FROM audit_logs AS a WHERE a.chain_seq IS NOT NULL
    ON CONFLICT DO NOTHING;

-- Les lignes ne reçoivent plus de maillon à l'ajout : plus de verrou, plus de lecture.
DROP TRIGGER IF EXISTS audit_logs_chain ON audit_logs;
DROP FUNCTION IF EXISTS audit_logs_chain();
ALTER TABLE audit_logs ALTER COLUMN chain_seq DROP NOT NULL,
    ALTER COLUMN prev_hash DROP NOT NULL, ALTER COLUMN hash DROP NOT NULL;

-- Les colonnes de 0008 restent celles des lignes d'avant : une ligne remise d'une ancienne
-- sauvegarde (fiable_restore) n'y apporte pas ses anciens maillons.
CREATE OR REPLACE FUNCTION audit_logs_sans_maillon() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    NEW.chain_seq := NULL;
    NEW.prev_hash := NULL;
    NEW.hash := NULL;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION audit_logs_sans_maillon() FROM PUBLIC;
CREATE TRIGGER audit_logs_chain
    BEFORE INSERT ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_sans_maillon();

-- Après l'ajout (l'heure de la base déjà imposée, 0013) : l'empreinte du contenu, la file, et
-- le réveil du scelleur à la validation. Pas de verrou : rien n'est lu.
CREATE OR REPLACE FUNCTION audit_logs_a_sceller() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    INSERT INTO audit_pending (audit_id, content_hash)
        VALUES (NEW.id, encode(sha256(convert_to(audit_logs_canonical(NEW), 'UTF8')), 'hex'));
    PERFORM pg_notify('audit_seal', '');
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION audit_logs_a_sceller() FROM PUBLIC;
DROP TRIGGER IF EXISTS audit_logs_queue ON audit_logs;
CREATE TRIGGER audit_logs_queue
    AFTER INSERT ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_a_sceller();

-- Les lignes d'avant la migration qui n'avaient pas de maillon (aucune d'ordinaire) : en file.
INSERT INTO audit_pending (audit_id, content_hash, queued_at)
    SELECT a.id, encode(sha256(convert_to(audit_logs_canonical(a), 'UTF8')), 'hex'), a.created_at
    FROM audit_logs AS a
    WHERE NOT EXISTS (SELECT 1 FROM audit_chain AS c WHERE c.audit_id = a.id)
    ON CONFLICT DO NOTHING;

-- Scelle au plus max_rows lignes de la file, dans l'ordre de leurs ids, en une transaction :
-- le nombre de maillons ajoutés. Seul appel qui prend le verrou de la chaîne : deux
-- scelleurs (deux nœuds) passent l'un après l'autre et lisent chacun la tête laissée par
-- l'autre (READ COMMITTED : chaque instruction voit ce qui est validé au moment où elle part).
-- Une ligne de la file dont le contenu ne correspond plus à son empreinte est scellée quand
-- même, avec l'empreinte de l'ajout : fiable-verify-audit la nomme.
CREATE OR REPLACE FUNCTION audit_seal(max_rows integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    head_seq  bigint;
    head_hash text;
    link      text;
    r         record;
    done      bigint[] := '{}';
BEGIN
    IF max_rows IS NULL OR max_rows < 1 OR max_rows > 10000 THEN
        RAISE EXCEPTION 'audit_seal : max_rows doit être entre 1 et 10000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(7310012348);
    SELECT seq, hash INTO head_seq, head_hash FROM audit_chain ORDER BY seq DESC LIMIT 1;
    head_seq := coalesce(head_seq, 0);
    head_hash := coalesce(head_hash, repeat('0', 64));
    FOR r IN SELECT p.audit_id, p.content_hash, a.id IS NOT NULL AS present,
                    audit_logs_canonical(a) AS canonical,
                    EXISTS (SELECT 1 FROM audit_chain AS c WHERE c.audit_id = p.audit_id)
                        AS sealed
             FROM audit_pending AS p LEFT JOIN audit_logs AS a ON a.id = p.audit_id
             ORDER BY p.audit_id LIMIT max_rows LOOP
        done := done || r.audit_id;
        -- Une ligne disparue (ou déjà scellée) : rien à chaîner.
        CONTINUE WHEN NOT r.present OR r.sealed;
        link := encode(sha256(convert_to(head_hash || E'\n' || r.canonical, 'UTF8')), 'hex');
        head_seq := head_seq + 1;
        INSERT INTO audit_chain (seq, audit_id, content_hash, prev_hash, hash)
            VALUES (head_seq, r.audit_id, r.content_hash, head_hash, link);
        head_hash := link;
    END LOOP;
    DELETE FROM audit_pending WHERE audit_id = ANY (done);
    RETURN cardinality(done);
END
$$;
REVOKE ALL ON FUNCTION audit_seal(integer) FROM PUBLIC;

-- Les lignes qui attendent leur scellement et l'âge de la plus ancienne, en secondes (0 quand
-- la file est vide) : pour /api/health et les règles d'alerte de source « audit ».
CREATE OR REPLACE FUNCTION metriques_audit() RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT jsonb_build_object('non_scelles', count(*),
        'plus_ancienne_secondes', coalesce(round(extract(epoch FROM
            clock_timestamp() - min(queued_at))::numeric, 1), 0))
    FROM audit_pending
$$;

-- Droits : l'application scelle par audit_seal() seulement et lit l'âge de la file (santé) ;
-- la sauvegarde lit la chaîne (tête, vérification). Personne d'autre n'écrit la chaîne.
REVOKE ALL ON audit_chain, audit_pending FROM PUBLIC, fiable_app, fiable_backup, fiable_restore;
GRANT EXECUTE ON FUNCTION audit_seal(integer) TO fiable_app;
GRANT SELECT ON audit_pending TO fiable_app, fiable_backup;
GRANT SELECT ON audit_chain TO fiable_backup;
