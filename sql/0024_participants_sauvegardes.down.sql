-- Retour arrière de 0024_participants_sauvegardes : fiable_restore ne remet plus de
-- participants (les sauvegardes de format 3 ne se restaurent plus : revenez au programme
-- d'avant, qui écrit et lit le format 2).
REVOKE INSERT, SELECT ON participants FROM fiable_restore;
REVOKE SELECT (id) ON mail_outbox FROM fiable_restore;
DO $$
BEGIN
    EXECUTE format('REVOKE SELECT, UPDATE ON SEQUENCE %s FROM fiable_restore',
                   pg_get_serial_sequence('participants', 'id'));
END
$$;
