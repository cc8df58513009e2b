-- Least privilege for testengine on PostgreSQL. Run as the postgres superuser:
--   runuser -u postgres -- psql -v ON_ERROR_STOP=1 -v app_password="'...'" -v owner_password="'...'" -f deploy/postgres-roles.sql
--
-- testengine_owner owns the database and its tables: `testengine init-db` connects as it
-- (TESTENGINE_MIGRATION_DATABASE_URL) to create and alter them, and so does `testengine restore`.
-- testengine_app is what the web service, the sweep, retention and backups connect as
-- (TESTENGINE_DATABASE_URL): it can read and write rows, and cannot TRUNCATE (which would skip the
-- audit log's append-only triggers), DROP or ALTER anything.

CREATE ROLE testengine_owner LOGIN PASSWORD :owner_password;
CREATE ROLE testengine_app LOGIN PASSWORD :app_password;
CREATE DATABASE testengine OWNER testengine_owner;
REVOKE ALL ON DATABASE testengine FROM PUBLIC;
GRANT CONNECT ON DATABASE testengine TO testengine_app;

\connect testengine
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO testengine_owner;
GRANT USAGE ON SCHEMA public TO testengine_app;

-- Tables and sequences the owner creates from now on (every migration) are open to the app for rows only.
-- After `testengine init-db` has created the tables, run `testengine db grant-app-role testengine_app`
-- (as the owner) for the ones that exist; it issues the same grants.
ALTER DEFAULT PRIVILEGES FOR ROLE testengine_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO testengine_app;
ALTER DEFAULT PRIVILEGES FOR ROLE testengine_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO testengine_app;
