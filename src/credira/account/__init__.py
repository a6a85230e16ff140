"""Accounts and their settings."""
