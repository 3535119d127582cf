"""The db_writer service: lands with a later milestone (see README.md)."""
