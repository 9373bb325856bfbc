#!/bin/sh
# Runs once, after 01-playground.sql, as the superuser the service creates from PLAYGROUND_PG_USER.
# playground_reader: the read-only role Trino's postgresql catalog logs in as. It owns nothing and
# may read the tables that role creates in the public schema of every database made later from
# template1 (pagila, which the pagila-seed service creates), so SQL passed through
# `CALL postgresql.system.execute(...)` can change nothing. The password comes from the
# environment (psql's \getenv), never from a command line.
set -eu
psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname template1 <<'SQL'
\getenv reader_password PLAYGROUND_PG_READER_PASSWORD
\getenv owner POSTGRES_USER
CREATE ROLE playground_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    NOINHERIT PASSWORD :'reader_password';
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT ON TABLES TO playground_reader;
SQL
