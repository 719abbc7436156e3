-- Catalogue chargé par la pile de test (`scripts/dev stack-up` ; jamais par les migrations,
-- ni par `scripts/dev up`, qui crée une campagne de démonstration : campagne-demo.sql) :
-- matin et après-midi des dix prochains jours ouvrables, heure de Bruxelles. Les tests du
-- formulaire comptent sur ces créneaux dans la première campagne.
-- Rejouable : les créneaux déjà présents sont conservés. Ils vont dans la première campagne
-- (campagne_par_defaut(), sql/0014), celle que sert le formulaire.
INSERT INTO creneaux (id, campagne_id, starts_at, ends_at, label)
SELECT to_char(jour, 'YYYY-MM-DD') || '-' || p.suffixe, campagne_par_defaut(),
       (jour + p.debut) AT TIME ZONE 'Europe/Brussels',
       (jour + p.fin)   AT TIME ZONE 'Europe/Brussels',
       p.libelle
FROM (
    SELECT d::date AS jour
    FROM generate_series(current_date + 1, current_date + 21, interval '1 day') AS d
    WHERE extract(isodow FROM d) < 6
    ORDER BY d
    LIMIT 10
) AS jours
CROSS JOIN (VALUES
    ('matin', time '09:00', time '12:00', 'Matin (9 h – 12 h)'),
    ('apres-midi', time '13:30', time '17:00', 'Après-midi (13 h 30 – 17 h)')
) AS p(suffixe, debut, fin, libelle)
ON CONFLICT (id) DO NOTHING;
