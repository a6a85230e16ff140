"""Domain-free helpers: ids, time, envelopes, pagination, validation types."""
