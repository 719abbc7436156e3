-- 0020 — Qui a répondu : la règle en un seul endroit (issue 16).
--
-- participants_reponses : chaque participant avec ce qu'il en est de sa réponse dans sa
-- campagne, selon l'e-mail (sans la casse) des réponses de cette campagne :
--   'repondu'       une réponse active ;
--   'retire'        seulement des réponses retirées ;
--   'sans_reponse'  aucune.
-- La liste de l'organisateur, les relances (à qui écrire), l'export de ceux qui n'ont pas
-- répondu, le taux de réponse des métriques et son alerte la lisent : aucun ne refait la règle.
--
-- security_invoker : la vue lit avec les droits de qui l'interroge (fiable_app, fiable_backup).
-- Idempotente. Retour arrière : 0020_reponse_des_participants.down.sql.

CREATE OR REPLACE VIEW participants_reponses WITH (security_invoker = true) AS
SELECT p.*,
       CASE WHEN EXISTS (SELECT 1 FROM soumissions_disponibilites s
                         WHERE s.campagne_id = p.campagne_id
                           AND lower(s.email) = lower(p.email) AND s.deleted_at IS NULL)
                 THEN 'repondu'
            WHEN EXISTS (SELECT 1 FROM soumissions_disponibilites s
                         WHERE s.campagne_id = p.campagne_id
                           AND lower(s.email) = lower(p.email))
                 THEN 'retire'
            ELSE 'sans_reponse' END AS reponse
FROM participants p;

COMMENT ON VIEW participants_reponses IS
    'Les participants et leur réponse (repondu, retire, sans_reponse) : la seule définition.';

REVOKE ALL ON participants_reponses FROM PUBLIC;
GRANT SELECT ON participants_reponses TO fiable_app, fiable_backup;
