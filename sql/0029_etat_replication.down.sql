-- Retour arrière de 0029_etat_replication : la fonction disparaît (rien d'autre ne change).
DROP FUNCTION IF EXISTS etat_replication();
