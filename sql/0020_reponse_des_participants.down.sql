-- Retour arrière de 0020_reponse_des_participants : la vue disparaît (le code d'avant
-- écrivait la règle dans sa requête).
DROP VIEW IF EXISTS participants_reponses;
