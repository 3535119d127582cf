"""The WebSocket server (``python -m ws``): public market data and private order events.

Layout: ``config`` (environment), ``protocol`` (client messages, sans I/O), ``books`` (order-book
replicas, pure), ``hub`` (subscriptions and fan-out), ``redis_feed`` (the engine's frames from Redis),
``auth`` (API keys), ``server`` (connections).
"""
