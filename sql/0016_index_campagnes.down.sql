-- Retour arrière de 0016 : les index des listes et exports, et le réglage JIT du rôle.
-- Les programmes fonctionnent sans eux, plus lentement à partir de quelques milliers de
-- réponses.
DROP INDEX IF EXISTS soumissions_campagne_nom_idx;
DROP INDEX IF EXISTS soumissions_campagne_actives_idx;
ALTER ROLE fiable_app RESET jit;
