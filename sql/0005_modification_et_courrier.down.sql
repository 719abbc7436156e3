-- Supprime la file d'envoi et les demandes de lien (messages non envoyés perdus).
DROP FUNCTION IF EXISTS soumission_contenu_a_la_version(bigint, integer);
DROP TABLE IF EXISTS modify_link_requests;
DROP TABLE IF EXISTS mail_outbox;
