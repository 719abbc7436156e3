-- Retour arrière de 0019_iso_8601_infini : la fonction de 0015 (un instant infini y devient
-- une date absurde). À appliquer avec l'ancien code, qui écrivait lui-même les instants
-- infinis de l'API des campagnes.
CREATE OR REPLACE FUNCTION iso_8601(p_instant timestamptz, p_fuseau text) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT to_char(l, 'YYYY-MM-DD"T"HH24:MI:SS')
           || CASE WHEN d < 0 THEN '-' ELSE '+' END
           || lpad((abs(d) / 3600)::text, 2, '0') || ':'
           || lpad((abs(d) % 3600 / 60)::text, 2, '0')
    FROM (SELECT p_instant AT TIME ZONE p_fuseau AS l) AS a
    CROSS JOIN LATERAL (SELECT extract(epoch FROM a.l - (p_instant AT TIME ZONE 'UTC'))::integer
                        AS d) AS b
    WHERE p_instant IS NOT NULL
$$;
COMMENT ON FUNCTION iso_8601(timestamptz, text) IS
    'Un instant en ISO 8601 à l''heure locale d''un fuseau, avec son décalage.';
