"""Abuse and cost guards: request rate limits (per API key, per account, and a tighter one on
placing calls) and per-account daily caps on calls placed and emails sent."""
