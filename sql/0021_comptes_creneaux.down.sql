-- Retour arrière de 0021 : les comptes tenus à l'écriture disparaissent ; le code d'avant
-- comptait les créneaux cochés des réponses à chaque lecture.
DROP TRIGGER IF EXISTS creneaux_comptes_ajout ON soumissions_disponibilites;
DROP TRIGGER IF EXISTS creneaux_comptes_changement ON soumissions_disponibilites;
DROP TRIGGER IF EXISTS creneaux_comptes_suppression ON soumissions_disponibilites;
DROP TRIGGER IF EXISTS creneaux_comptes_vider ON soumissions_disponibilites;
DROP FUNCTION IF EXISTS creneaux_comptes_compacter();
DROP FUNCTION IF EXISTS creneaux_comptes_vider();
DROP FUNCTION IF EXISTS creneaux_comptes_ecrire();
DROP VIEW IF EXISTS creneaux_disponibles;
DROP TABLE IF EXISTS creneaux_comptes;
DROP TABLE IF EXISTS creneaux_comptes_deltas;
