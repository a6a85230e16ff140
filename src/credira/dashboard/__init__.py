"""The operator dashboard under ``/dashboard``: pages rendered on the server (Jinja2, htmx
vendored under ``static/``), signed in with a user's API key exchanged for a session cookie.
Every page reads and writes through the same services as the API."""
