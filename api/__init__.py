"""The REST API service (`python -m api`): validates requests, forwards them to the engine over Redis."""
