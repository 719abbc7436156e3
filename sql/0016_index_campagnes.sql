-- 0016 — Index des listes et exports de l'administration (issue 15 : 100 000 réponses).
--
--   soumissions_campagne_actives_idx   les réponses actives d'une campagne par id, avec
--               en_retard : une page de la matrice (keyset, « apres ») lit ses 200 lignes sans
--               parcourir les réponses des autres campagnes ; les comptes de la liste des
--               campagnes (actives, en retard) se lisent dans l'index seul.
--   soumissions_campagne_nom_idx       les réponses actives d'une campagne dans l'ordre des
--               noms : l'ancien export /api/admin/submissions.csv les lit par un curseur, sans
--               tri de toute la table.
--
-- Le rôle fiable_app perd la compilation JIT : elle coûtait à elle seule ~600 ms à la liste
-- des campagnes (100 000 réponses) et se déclenche sur le coût estimé d'une requête, qui
-- grandit avec les réponses ; les requêtes des programmes sont courtes ou bornées.
--
-- Aucune donnée n'est modifiée, rien n'est écrit au journal d'audit. Idempotente. Retour
-- arrière : 0016_index_campagnes.down.sql.

CREATE INDEX IF NOT EXISTS soumissions_campagne_actives_idx
    ON soumissions_disponibilites (campagne_id, id) INCLUDE (en_retard)
    WHERE deleted_at IS NULL;

CREATE INDEX IF NOT EXISTS soumissions_campagne_nom_idx
    ON soumissions_disponibilites (campagne_id, lower(nom), id)
    WHERE deleted_at IS NULL;

ALTER ROLE fiable_app SET jit = off;
