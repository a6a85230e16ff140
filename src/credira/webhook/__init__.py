"""Webhooks: endpoints that receive the account's events, signed as Standard Webhooks defines,
delivered by the worker from the event log (``deliver.py``)."""
