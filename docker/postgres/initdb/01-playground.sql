-- Runs once, when the postgres service starts with an empty volume (docker-entrypoint-initdb.d),
-- as the superuser the service creates from PLAYGROUND_PG_USER.
--
-- pagila is created by the pagila-seed service (`playground seed --if-missing`), not here: seed
-- replaces only databases it created itself.
-- iceberg_catalog: the Iceberg SQL/JDBC catalog shared by PyIceberg, DuckDB and Trino. Trino's
-- JDBC catalog never creates its tables, and with its default schema version (V1) it expects the
-- nullable iceberg_type column; PyIceberg's SqlCatalog uses the same two tables.

CREATE DATABASE iceberg_catalog;

\connect iceberg_catalog

CREATE TABLE iceberg_tables (
    catalog_name varchar(255) NOT NULL,
    table_namespace varchar(255) NOT NULL,
    table_name varchar(255) NOT NULL,
    metadata_location varchar(1000),
    previous_metadata_location varchar(1000),
    iceberg_type varchar(5),
    PRIMARY KEY (catalog_name, table_namespace, table_name)
);

CREATE TABLE iceberg_namespace_properties (
    catalog_name varchar(255) NOT NULL,
    namespace varchar(255) NOT NULL,
    property_key varchar(255) NOT NULL,
    property_value varchar(1000),
    PRIMARY KEY (catalog_name, namespace, property_key)
);
