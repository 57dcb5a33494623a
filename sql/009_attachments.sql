-- 009_attachments.sql — messages as applications really send them (CONTRACT §2, §8):
-- a complete RFC 5322 message in outbox.raw_message, and a message's attachments in
-- outbox_attachment (inserted in the same transaction as the outbox row, sent in id order).
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS raw_message bytea;
CREATE TABLE IF NOT EXISTS outbox_attachment (
    id           bigserial PRIMARY KEY,
    outbox_id    bigint NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    filename     text,
    content_type text,
    disposition  text NOT NULL DEFAULT 'attachment',
    content_id   text,
    content      bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_attachment_outbox_idx ON outbox_attachment (outbox_id, id);
-- Large contents are read in slices while they are sent (the daemon never holds a large
-- message whole); EXTERNAL storage (out of line, uncompressed) lets PostgreSQL read a
-- slice without decompressing everything before it. Attachments are mostly compressed
-- formats already (PDF, ZIP, images), so little space is lost.
ALTER TABLE outbox_attachment ALTER COLUMN content SET STORAGE EXTERNAL;
ALTER TABLE outbox ALTER COLUMN raw_message SET STORAGE EXTERNAL;
