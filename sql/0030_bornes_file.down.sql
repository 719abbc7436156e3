-- Retour arrière de 0030_bornes_file : metriques_bornes() telle que 0007 l'a écrite.
CREATE OR REPLACE FUNCTION metriques_bornes(p_kind text) RETURNS float8[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind
        WHEN 'duree' THEN '{1,2,5,10,25,50,100,250,500,1000,2000,5000,10000}'::float8[]
        ELSE '{1,2,5,10,20,50,100,200,500,1000}'::float8[]
    END
$$;
