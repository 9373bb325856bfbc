"""The sample data: pagila (generated and seeded into PostgreSQL) and iris (a CSV)."""
