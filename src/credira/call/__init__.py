"""Calls: voice attempts, their rules and API (transcripts are `credira.transcript`)."""
