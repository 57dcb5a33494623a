-- 003_outbox_notify.sql — wake every sitemaild when mail is queued. One NOTIFY per
-- statement (not per row), so a bulk INSERT of 20,000 rows sends one notification.
CREATE OR REPLACE FUNCTION sitemail_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sitemail_outbox', '');
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION sitemail_outbox_notify();
