"""Cost guards: per-account daily caps on calls placed and emails sent, counted in the
database (apart from the HTTP request limits of ``credira.ratelimit``)."""
