-- 0009 — Fonctionnalités (scénario 2 du retour arrière de docs/plan-de-deploiement.md) : l'administration
-- (fiable-metrics, /api/admin/fonctionnalites) et la commande fiable-flags les activent et
-- les désactivent. Le rôle applicatif peut changer l'état et la date d'une fonctionnalité,
-- rien d'autre : ni en créer, ni en supprimer, ni la renommer. Chaque changement écrit sa
-- ligne du journal d'audit dans la même transaction (droit INSERT déjà accordé par 0004).
-- Idempotente (GRANT se rejoue sans effet). Retour arrière : 0009_fonctionnalites.down.sql.

GRANT UPDATE (enabled, updated_at) ON feature_flags TO fiable_app;
