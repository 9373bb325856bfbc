"""The distributed stack without Docker: `playground stack up`/`down` and the servers it runs
(Trino, versitygw for S3, the PostgreSQL port forwarder) and Superset for BI."""
