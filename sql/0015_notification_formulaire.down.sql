-- Retour arrière de 0015 : plus de notification ; fiable-form (de cette version) ne peut
-- alors plus garder ses formulaires en mémoire sans servir des données périmées : revenez
-- aussi au programme d'avant.
DROP TRIGGER IF EXISTS feature_flags_notifier_formulaire ON feature_flags;
DROP TRIGGER IF EXISTS creneaux_notifier_formulaire ON creneaux;
DROP TRIGGER IF EXISTS campagnes_notifier_formulaire ON campagnes;
DROP FUNCTION IF EXISTS notifier_formulaire();
DROP FUNCTION IF EXISTS iso_8601(timestamptz, text);
