-- deploy/sql/roles.sql: one daemon's database and its two roles, least privilege.
--
-- Run as a superuser (or a role with CREATEROLE and CREATEDB that may grant on the database),
-- connected to any database of the cluster, with psql variables:
--   db       the database (ccs_referral, ccs_eligibility, ccs_scheduling)
--   owner    owns the database and its schema, runs the migrations (ccs-<name>d --migrate-only)
--   runtime  what the daemon connects as: DML on its own database, nothing else
-- Passwords come from the environment, never from the command line (psql's \getenv):
--   CCS_PG_OWNER_PASSWORD, CCS_PG_RUNTIME_PASSWORD; unset: the password is left as it is.
-- deploy/sql/apply.sh passes all of this; by hand:
--   psql "$ADMIN_URL" -X -v db=ccs_referral -v owner=ccs_referral_owner -v runtime=ccs_referral \
--        -f deploy/sql/roles.sql
--
-- Idempotent: run it again after a restore, or to repair grants. Neither role is a superuser,
-- may create databases or roles, replicate or bypass row security; an existing role of that
-- name is brought back to these attributes.
\set ON_ERROR_STOP on
\set QUIET on

-- ---------------------------------------------------------------- roles
SELECT format('CREATE ROLE %I', r) FROM unnest(ARRAY[:'owner', :'runtime']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', r)
  FROM unnest(ARRAY[:'owner', :'runtime']) AS r \gexec
-- The runtime role must not be able to act as the owner through membership.
SELECT format('REVOKE %I FROM %I', :'owner', :'runtime')
 WHERE pg_has_role(:'runtime', :'owner', 'MEMBER') \gexec
\getenv owner_password CCS_PG_OWNER_PASSWORD
\getenv runtime_password CCS_PG_RUNTIME_PASSWORD
\if :{?owner_password}
ALTER ROLE :"owner" PASSWORD :'owner_password';
\endif
\if :{?runtime_password}
ALTER ROLE :"runtime" PASSWORD :'runtime_password';
\endif

-- ---------------------------------------------------------------- the database
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'db', :'owner', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO :"owner";
-- PUBLIC may connect to and create temporary tables in any new database: nobody but these two
-- roles (and superusers) gets into this one, so no other daemon's role does.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"runtime";

\connect :"db"
SET client_min_messages = warning;

-- ---------------------------------------------------------------- the schema
ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"runtime";

-- A database created before these roles existed (by a superuser running the migrations) holds
-- tables the owner does not own, and the next migration could not alter them: adopt them.
-- Sequences behind serial columns follow their table.
SELECT format('ALTER %s %s OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
              c.oid::regclass, :'owner')
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
 ORDER BY c.relkind DESC \gexec

-- ---------------------------------------------------------------- the runtime role's DML
-- On what exists now, and (default privileges) on what the owner's later migrations create.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"runtime";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"runtime";

-- schema_migrations is read-only for the runtime role (the daemon checks its version there and
-- must not be able to forge one). The default privileges above would grant it DML when the
-- first migration creates it, so it is created here, as the owner, with the definition
-- ccs_pg_migrate uses (common/pg/pg.c), and narrowed.
SET ROLE :"owner";
CREATE TABLE IF NOT EXISTS schema_migrations (
    component text NOT NULL, version integer NOT NULL, name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version));
RESET ROLE;
REVOKE ALL ON schema_migrations FROM :"runtime";
GRANT SELECT ON schema_migrations TO :"runtime";
