"""Per-account settings of the real voice providers (credentials encrypted at rest)."""
