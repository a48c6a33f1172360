"""Storage: tables, the database handle and the SQL behind every read and write."""
