-- autocert4j PostgreSQL store, schema version 1. ${prefix} is the table prefix (default autocert4j_).
-- PostgresCertStore applies this in one transaction under a transaction-level advisory lock, so nodes
-- that start together do not race; every statement is idempotent.

-- Which schema versions have been applied.
CREATE TABLE IF NOT EXISTS ${prefix}schema_version (
    version    integer     PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row per store key (account key, certificate bundle, metadata, ...); written by one upsert.
-- COLLATE "C": byte order, so list(prefix)'s LIKE 'prefix%' can use the primary key index.
CREATE TABLE IF NOT EXISTS ${prefix}entries (
    key        text COLLATE "C" PRIMARY KEY,
    value      bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per lock name, kept after release so that token only grows (the fencing token).
-- A lock is held by holder while expires_at (database clock) is in the future.
CREATE TABLE IF NOT EXISTS ${prefix}locks (
    name       text COLLATE "C" PRIMARY KEY,
    holder     text        NOT NULL,
    token      bigint      NOT NULL,
    expires_at timestamptz NOT NULL
);

INSERT INTO ${prefix}schema_version (version) VALUES (1) ON CONFLICT (version) DO NOTHING;
