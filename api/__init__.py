"""The api service: lands with a later milestone (see README.md)."""
