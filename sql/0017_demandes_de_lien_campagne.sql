-- 0017 — Les demandes de lien de modification nomment leur campagne.
--
-- POST /api/modify/link peut nommer une campagne (« campagne » : son adresse) ; la demande
-- garde l'id de cette campagne, et fiable-mail-outbox cherche la réponse active de l'adresse
-- dans cette campagne-là, puis envoie le lien de sa page (/c/<adresse>/#edit=…).
-- campagne_id NULL : la première campagne (campagne_par_defaut()), comme les demandes
-- enregistrées avant cette migration. Pas de clé étrangère : une demande vit au plus une
-- heure, et celle d'une campagne supprimée entre-temps ne trouve simplement pas de réponse.
-- Les limites ne changent pas : 3 demandes par heure et par adresse e-mail, toutes
-- campagnes confondues, et 20 par adresse IP.
--
-- Idempotente. Retour arrière : 0017_demandes_de_lien_campagne.down.sql.

ALTER TABLE modify_link_requests ADD COLUMN IF NOT EXISTS campagne_id bigint;
COMMENT ON COLUMN modify_link_requests.campagne_id IS
    'La campagne où chercher la réponse de l''adresse ; NULL : la première.';
