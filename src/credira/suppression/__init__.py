"""Opt-outs: phone numbers and email addresses an account must not contact again."""
