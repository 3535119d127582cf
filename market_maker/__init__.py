"""The market_maker service: lands with a later milestone (see README.md)."""
