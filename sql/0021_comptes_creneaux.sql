-- 0021 — Les personnes disponibles par créneau, tenues à l'écriture (issue 15, performances).
--
-- Avant : chaque lecture d'une campagne ou de la première page de sa matrice comptait les
-- créneaux cochés de toutes ses réponses actives (100 000 réponses × 8 créneaux : ~500 ms).
-- Maintenant le compte se lit dans deux tables :
--
--   creneaux_comptes_deltas   ajout seul : +1 / -1 par créneau, écrits par un déclencheur
--               dans la transaction de chaque réponse ajoutée, modifiée (créneaux changés),
--               retirée, remise, restaurée ou supprimée. Aucune ligne n'est mise à jour :
--               deux réponses envoyées en même temps ne se disputent aucun verrou (un
--               compteur par créneau mis à jour par chaque réponse les ferait attendre l'une
--               après l'autre jusqu'au COMMIT sur les créneaux populaires).
--   creneaux_comptes          le compte tassé par (campagne, créneau) : creneaux_comptes_compacter()
--               y verse les deltas et les efface, en une transaction.
--
-- La vue creneaux_disponibles (campagne_id, creneau_id, disponibles) additionne les deux :
-- la seule définition du compte, juste dans tout instantané (le tassement efface et ajoute
-- dans la même transaction). Les programmes de l'administration lisent la vue et appellent
-- creneaux_comptes_compacter() avant (hors transaction) ; s'il tourne déjà ailleurs, l'appel
-- ne fait rien (verrou consultatif essayé, jamais attendu : l'autre tassera).
--
-- Comme avant : une réponse retirée ne compte pas ; un créneau retiré du formulaire garde son
-- compte ; chaque élément du tableau creneaux compte une fois.
--
-- Droits : fiable_app lit les deux tables et la vue, et exécute le tassement ; personne
-- d'autre que le propriétaire n'y écrit (le déclencheur et le tassement sont SECURITY
-- DEFINER) : un programme ne peut pas fausser un compte. Les sauvegardes ne les contiennent
-- pas : une restauration réécrit les réponses, et le déclencheur les comptes.
--
-- Remplissage : les comptes des réponses existantes sont recalculés (table des réponses
-- verrouillée contre les écritures pendant ce temps). Idempotente. Retour arrière :
-- 0021_comptes_creneaux.down.sql.

CREATE TABLE IF NOT EXISTS creneaux_comptes_deltas (
    campagne_id bigint  NOT NULL,
    creneau_id  text    NOT NULL,
    delta       integer NOT NULL
);
CREATE INDEX IF NOT EXISTS creneaux_comptes_deltas_campagne_idx
    ON creneaux_comptes_deltas (campagne_id);
-- Une file : chaque tassement y laisse autant de lignes mortes qu'il a versé de deltas, que les
-- lectures parcourent jusqu'au passage de l'autovacuum. Il passe dès 1 000 lignes mortes au
-- lieu de 20 % de la table.
ALTER TABLE creneaux_comptes_deltas SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);

CREATE TABLE IF NOT EXISTS creneaux_comptes (
    campagne_id bigint NOT NULL,
    creneau_id  text   NOT NULL,
    disponibles bigint NOT NULL,
    PRIMARY KEY (campagne_id, creneau_id)
);

CREATE OR REPLACE VIEW creneaux_disponibles WITH (security_invoker = true) AS
SELECT campagne_id, creneau_id, sum(n)::bigint AS disponibles
FROM (SELECT campagne_id, creneau_id, disponibles AS n FROM creneaux_comptes
      UNION ALL
      SELECT campagne_id, creneau_id, delta FROM creneaux_comptes_deltas) AS u
GROUP BY campagne_id, creneau_id;

COMMENT ON VIEW creneaux_disponibles IS
    'Personnes disponibles par créneau (réponses actives) : la seule définition du compte.';

-- Les deltas d'une écriture : +1 par créneau de la réponse active d'après, -1 par créneau
-- de la réponse active d'avant ; ce qui s'annule (nom changé, créneaux inchangés) n'écrit
-- rien. Les clauses WHEN des déclencheurs évitent même l'appel quand rien ne peut changer.
CREATE OR REPLACE FUNCTION creneaux_comptes_ecrire() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    ajout jsonb;
    retrait jsonb;
    campagne_ajout bigint;
    campagne_retrait bigint;
BEGIN
    IF TG_OP <> 'DELETE' THEN
        IF NEW.deleted_at IS NULL THEN
            ajout := NEW.creneaux;
            campagne_ajout := NEW.campagne_id;
        END IF;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF OLD.deleted_at IS NULL THEN
            retrait := OLD.creneaux;
            campagne_retrait := OLD.campagne_id;
        END IF;
    END IF;
    INSERT INTO creneaux_comptes_deltas (campagne_id, creneau_id, delta)
    SELECT u.campagne_id, u.creneau_id, sum(u.d)::integer
    FROM (SELECT campagne_ajout AS campagne_id, x AS creneau_id, 1 AS d
          FROM jsonb_array_elements_text(ajout) AS x
          UNION ALL
          SELECT campagne_retrait, x, -1 FROM jsonb_array_elements_text(retrait) AS x) AS u
    GROUP BY u.campagne_id, u.creneau_id
    HAVING sum(u.d) <> 0;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS creneaux_comptes_ajout ON soumissions_disponibilites;
CREATE TRIGGER creneaux_comptes_ajout
    AFTER INSERT ON soumissions_disponibilites
    FOR EACH ROW WHEN (NEW.deleted_at IS NULL AND NEW.creneaux <> '[]'::jsonb)
    EXECUTE FUNCTION creneaux_comptes_ecrire();
DROP TRIGGER IF EXISTS creneaux_comptes_changement ON soumissions_disponibilites;
CREATE TRIGGER creneaux_comptes_changement
    AFTER UPDATE ON soumissions_disponibilites
    FOR EACH ROW WHEN (OLD.creneaux IS DISTINCT FROM NEW.creneaux
                       OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
                       OR OLD.campagne_id <> NEW.campagne_id)
    EXECUTE FUNCTION creneaux_comptes_ecrire();
DROP TRIGGER IF EXISTS creneaux_comptes_suppression ON soumissions_disponibilites;
CREATE TRIGGER creneaux_comptes_suppression
    AFTER DELETE ON soumissions_disponibilites
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND OLD.creneaux <> '[]'::jsonb)
    EXECUTE FUNCTION creneaux_comptes_ecrire();

-- TRUNCATE ne passe pas par les déclencheurs de ligne : les comptes partent avec les réponses.
CREATE OR REPLACE FUNCTION creneaux_comptes_vider() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    DELETE FROM creneaux_comptes_deltas;
    DELETE FROM creneaux_comptes;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS creneaux_comptes_vider ON soumissions_disponibilites;
CREATE TRIGGER creneaux_comptes_vider
    AFTER TRUNCATE ON soumissions_disponibilites
    FOR EACH STATEMENT EXECUTE FUNCTION creneaux_comptes_vider();

-- Verse les deltas dans creneaux_comptes et les efface ; rend le nombre de deltas versés, ou
-- -1 quand un autre tassement tient le verrou (rien n'est attendu). Ne voit que les deltas
-- validés : ceux d'une réponse en cours restent pour le tassement suivant. À appeler hors
-- d'une transaction REPEATABLE READ (un tassement concurrent y ferait une erreur de
-- sérialisation).
CREATE OR REPLACE FUNCTION creneaux_comptes_compacter() RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    versees bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('fiable.creneaux_comptes_compacter')) THEN
        RETURN -1;
    END IF;
    WITH d AS (DELETE FROM creneaux_comptes_deltas
               RETURNING campagne_id, creneau_id, delta),
         s AS (SELECT campagne_id, creneau_id, sum(delta) AS n, count(*) AS lignes
               FROM d GROUP BY campagne_id, creneau_id),
         i AS (INSERT INTO creneaux_comptes AS c (campagne_id, creneau_id, disponibles)
               SELECT campagne_id, creneau_id, n FROM s
               ON CONFLICT (campagne_id, creneau_id)
               DO UPDATE SET disponibles = c.disponibles + EXCLUDED.disponibles)
    SELECT coalesce(sum(lignes), 0) INTO versees FROM s;
    RETURN versees;
END
$$;

-- Remplissage : tout recalculé depuis les réponses, sans écrivain concurrent (SHARE bloque
-- les écritures jusqu'à la fin de la migration, pas les lectures).
LOCK TABLE soumissions_disponibilites IN SHARE MODE;
DELETE FROM creneaux_comptes_deltas;
DELETE FROM creneaux_comptes;
INSERT INTO creneaux_comptes (campagne_id, creneau_id, disponibles)
SELECT s.campagne_id, x, count(*)
FROM soumissions_disponibilites AS s CROSS JOIN LATERAL jsonb_array_elements_text(s.creneaux) AS x
WHERE s.deleted_at IS NULL
GROUP BY s.campagne_id, x;

REVOKE ALL ON creneaux_comptes, creneaux_comptes_deltas, creneaux_disponibles FROM PUBLIC;
REVOKE ALL ON creneaux_comptes, creneaux_comptes_deltas, creneaux_disponibles
    FROM fiable_app, fiable_backup, fiable_restore;
GRANT SELECT ON creneaux_comptes, creneaux_comptes_deltas, creneaux_disponibles TO fiable_app;
REVOKE ALL ON FUNCTION creneaux_comptes_ecrire(), creneaux_comptes_vider(),
    creneaux_comptes_compacter() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION creneaux_comptes_compacter() TO fiable_app;
