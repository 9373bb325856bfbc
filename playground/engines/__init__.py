"""Query engines as clients: DuckDB connections and Trino sessions. Imports only `config`."""
