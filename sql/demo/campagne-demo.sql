-- Campagne de démonstration chargée par `scripts/dev up` (jamais par les migrations ni par la
-- pile de test, qui charge creneaux-demo.sql) : « demo », ouverte dès maintenant et pour
-- 30 jours, avec le matin et l'après-midi des jours ouvrables des deux prochaines semaines,
-- heure de Bruxelles, calculés à partir de now().
--
-- Rejouable : la campagne n'est créée, avec ses créneaux, que si elle n'existe pas ; ce que
-- l'organisation en a fait depuis (réglages, créneaux, réponses) est gardé.
--
-- La première campagne, « disponibilites » (sql/0014), est close si elle n'a ni créneau ni
-- réponse : sinon / proposerait deux campagnes, dont une vide, au lieu d'ouvrir directement
-- la démonstration. Close et non archivée : on peut la rouvrir depuis /admin/campagnes.html.
--
-- Les écritures sont inscrites au journal d'audit par les déclencheurs de 0014, avec pour
-- auteur « demo:scripts/dev ».

BEGIN;

SET LOCAL fiable.actor = 'demo:scripts/dev';

WITH nouvelle AS (
    INSERT INTO campagnes (slug, titre, introduction, fuseau, ouverture, fermeture, etat)
    VALUES ('demo', 'Disponibilités — démonstration',
            'Cette campagne de démonstration a été créée par scripts/dev up. Cochez les '
            'demi-journées où vous êtes disponible au cours des deux prochaines semaines, '
            'puis envoyez : vous pourrez modifier votre réponse jusqu''à la fermeture.'
            || E'\n\n' ||
            'Le mode d''emploi de Fiable : https://example.org/fiable/aide.',
            'Europe/Brussels', now(), now() + interval '30 days', 'ouverte')
    ON CONFLICT (slug) DO NOTHING
    RETURNING id, fuseau
)
INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label, position)
SELECT 'demo-' || to_char(j.jour, 'YYYY-MM-DD') || '-' || p.suffixe, n.id,
       (j.jour + p.debut) AT TIME ZONE n.fuseau,
       (j.jour + p.fin)   AT TIME ZONE n.fuseau,
       p.libelle,
       (row_number() OVER (ORDER BY j.jour, p.debut))::integer
FROM nouvelle AS n
CROSS JOIN LATERAL (
    -- Demain et les treize jours suivants, dans le fuseau de la campagne.
    SELECT d::date AS jour
    FROM generate_series((now() AT TIME ZONE n.fuseau)::date + 1,
                         (now() AT TIME ZONE n.fuseau)::date + 14,
                         interval '1 day') AS d
    WHERE extract(isodow FROM d) < 6
) AS j
CROSS JOIN (VALUES
    ('matin', time '09:00', time '12:00', 'Matin (9 h – 12 h)'),
    ('apres-midi', time '13:30', time '17:00', 'Après-midi (13 h 30 – 17 h)')
) AS p(suffixe, debut, fin, libelle);

UPDATE campagnes AS c SET etat = 'close'
WHERE c.slug = 'disponibilites' AND c.etat = 'ouverte'
  AND NOT EXISTS (SELECT 1 FROM creneaux WHERE campagne_id = c.id)
  AND NOT EXISTS (SELECT 1 FROM soumissions_disponibilites WHERE campagne_id = c.id);

COMMIT;
