-- Retire le droit accordé par 0009 : les fonctionnalités ne se changent plus qu'en
-- superutilisateur (leur état actuel est gardé).
REVOKE UPDATE (enabled, updated_at) ON feature_flags FROM fiable_app;
