"""The processes the playground runs for the learner: the embedded PostgreSQL, process records,
loopback probes. Imports only `config`."""
