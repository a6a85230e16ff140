"""Prometheus metrics: ``GET /metrics`` (``endpoints``), requests measured by a pure ASGI
middleware (``middleware``), outcomes counted from the event log as it commits (``events``),
and gauges read from the database at each scrape (``repository``, ``collect``)."""
