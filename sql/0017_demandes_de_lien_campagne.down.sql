-- Retour arrière de 0017 : les demandes ne nomment plus de campagne ; l'ancien code cherche
-- la réponse dans la première. À appliquer avec l'ancien code (le nouveau écrit la colonne).
ALTER TABLE modify_link_requests DROP COLUMN IF EXISTS campagne_id;
