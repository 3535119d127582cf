"""The market maker: quotes every market as an ordinary user of the public API (docs/market-maker.md)."""
