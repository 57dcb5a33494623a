-- 001_customization.sql — the ILLiad Customization table (CONTRACT §2). Other
-- applications may already own it and keep their own keys in it, so never drop or alter.
CREATE TABLE IF NOT EXISTS customization (
    custkey     text NOT NULL,
    value       text,
    nvtgc       text NOT NULL,
    description text,
    admincat    text,
    adminkey    text,
    admintype   text,
    PRIMARY KEY (custkey, nvtgc)
);
