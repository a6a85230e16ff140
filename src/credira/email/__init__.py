"""Emails: sending through the worker, tracking, opt-out."""
