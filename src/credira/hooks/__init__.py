"""Inbound callbacks of the voice providers, under ``/hooks/{provider}/...`` (outside ``/v1``)."""
