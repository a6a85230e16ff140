"""Calls: voice attempts, their rules, analysis and API."""
