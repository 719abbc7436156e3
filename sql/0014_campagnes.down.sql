-- Retour arrière de 0014 : les créneaux et les réponses quittent leur campagne, l'unicité
-- de l'adresse redevient globale. Refusé (rien n'est changé) s'il y a plus d'une campagne,
-- ou si une adresse a une réponse active dans deux campagnes : ces réponses ne tiendraient
-- plus dans le schéma de 0013. Perdus : le titre, l'introduction, les dates et l'état de la
-- première campagne, position, besoin et retire_at des créneaux, en_retard des réponses
-- (les créneaux retirés réapparaissent dans le formulaire). Le journal d'audit garde ses
-- lignes campagne.*, creneau.* et schema.migration.
DO $$
BEGIN
    IF (SELECT count(*) FROM campagnes) > 1 THEN
        RAISE EXCEPTION 'retour arrière de 0014 impossible : il y a plusieurs campagnes';
    END IF;
END
$$;

DROP TRIGGER IF EXISTS soumissions_campagne_ouverte ON soumissions_disponibilites;
DROP FUNCTION IF EXISTS soumissions_campagne_ouverte();
DROP TRIGGER IF EXISTS creneaux_suppression_gardee ON creneaux;
DROP FUNCTION IF EXISTS creneaux_suppression_gardee();
DROP TRIGGER IF EXISTS creneaux_audit ON creneaux;
DROP TRIGGER IF EXISTS campagnes_audit ON campagnes;
DROP FUNCTION IF EXISTS audit_ecriture_admin();
DROP TRIGGER IF EXISTS campagnes_tenue ON campagnes;
DROP FUNCTION IF EXISTS campagnes_tenue();
DROP FUNCTION IF EXISTS campagne_modification_permise(bigint);
DROP FUNCTION IF EXISTS campagne_phase(bigint);

-- Échoue (et annule tout) si une adresse est active deux fois.
CREATE UNIQUE INDEX IF NOT EXISTS soumissions_email_active_uniq
    ON soumissions_disponibilites (lower(email)) WHERE deleted_at IS NULL;
DROP INDEX IF EXISTS soumissions_campagne_email_active_uniq;
DROP INDEX IF EXISTS soumissions_campagne_idx;
DROP INDEX IF EXISTS creneaux_campagne_ordre_idx;

REVOKE ALL ON soumissions_disponibilites FROM fiable_app;
GRANT SELECT ON soumissions_disponibilites TO fiable_app;
GRANT INSERT (email, nom, creneaux, commentaire, edit_token_hash)
    ON soumissions_disponibilites TO fiable_app;
GRANT UPDATE (email, nom, creneaux, commentaire, deleted_at, edit_token_hash)
    ON soumissions_disponibilites TO fiable_app;
REVOKE ALL ON creneaux FROM fiable_app;
GRANT SELECT ON creneaux TO fiable_app;

ALTER TABLE soumissions_disponibilites DROP COLUMN IF EXISTS campagne_id,
    DROP COLUMN IF EXISTS en_retard;
ALTER TABLE creneaux DROP COLUMN IF EXISTS campagne_id, DROP COLUMN IF EXISTS position,
    DROP COLUMN IF EXISTS besoin, DROP COLUMN IF EXISTS retire_at;
DROP TABLE IF EXISTS campagnes;
DROP FUNCTION IF EXISTS campagne_par_defaut();
