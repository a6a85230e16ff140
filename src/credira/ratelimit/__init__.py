"""Abuse guards: request rate limits per API key, per account, and a tighter one on placing
calls (the daily cost caps are in ``credira.caps``)."""
