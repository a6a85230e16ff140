"""Secrets the service keeps for itself in its database (``platform_secrets``)."""
