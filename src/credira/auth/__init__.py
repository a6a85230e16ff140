"""API keys, the admin key, permissions and the principal a request acts as."""
