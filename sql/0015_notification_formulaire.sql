-- 0015 — Le formulaire servi depuis la mémoire des programmes (issue 15, « Performance »).
--
-- fiable-form garde, dans chaque processus, le corps de GET /api/form de chaque campagne déjà
-- demandée ; il écoute (LISTEN) le canal « formulaire » et oublie tout ce qu'il garde dès
-- qu'une notification arrive. Les déclencheurs ci-dessous en envoient une à chaque écriture
-- d'une campagne, d'un créneau ou d'une fonctionnalité (une par instruction, pas par ligne :
-- une série de 500 créneaux n'en envoie qu'une). PostgreSQL ne la délivre qu'à la validation
-- de la transaction, et fusionne les doublons d'une même transaction.
--
-- La charge utile (le nom de la table) n'est qu'une indication pour les journaux : le
-- programme oublie tout, quelle qu'elle soit.
--
-- iso_8601(instant, fuseau) : l'instant écrit à l'heure locale du fuseau, avec son décalage
-- (« 2026-03-30T09:00:00+02:00 »), la forme des dates du contrat de l'API des campagnes ;
-- NULL pour NULL.
--
-- Idempotente. Retour arrière : 0015_notification_formulaire.down.sql.

CREATE OR REPLACE FUNCTION notifier_formulaire() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    PERFORM pg_notify('formulaire', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION notifier_formulaire() IS
    'Annonce sur le canal « formulaire » que la configuration d''un formulaire a changé.';

DROP TRIGGER IF EXISTS campagnes_notifier_formulaire ON campagnes;
CREATE TRIGGER campagnes_notifier_formulaire
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON campagnes
    FOR EACH STATEMENT EXECUTE FUNCTION notifier_formulaire();
DROP TRIGGER IF EXISTS creneaux_notifier_formulaire ON creneaux;
CREATE TRIGGER creneaux_notifier_formulaire
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON creneaux
    FOR EACH STATEMENT EXECUTE FUNCTION notifier_formulaire();
DROP TRIGGER IF EXISTS feature_flags_notifier_formulaire ON feature_flags;
CREATE TRIGGER feature_flags_notifier_formulaire
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON feature_flags
    FOR EACH STATEMENT EXECUTE FUNCTION notifier_formulaire();

CREATE OR REPLACE FUNCTION iso_8601(p_instant timestamptz, p_fuseau text) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT to_char(l, 'YYYY-MM-DD"T"HH24:MI:SS')
           || CASE WHEN d < 0 THEN '-' ELSE '+' END
           || lpad((abs(d) / 3600)::text, 2, '0') || ':'
           || lpad((abs(d) % 3600 / 60)::text, 2, '0')
    FROM (SELECT p_instant AT TIME ZONE p_fuseau AS l) AS a
    CROSS JOIN LATERAL (SELECT extract(epoch FROM a.l - (p_instant AT TIME ZONE 'UTC'))::integer
                        AS d) AS b
    WHERE p_instant IS NOT NULL
$$;
COMMENT ON FUNCTION iso_8601(timestamptz, text) IS
    'Un instant en ISO 8601 à l''heure locale d''un fuseau, avec son décalage.';
