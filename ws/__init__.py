"""The ws service: lands with a later milestone (see README.md)."""
