"""Callouts: timed outreach to a debtor about one invoice, by call and email."""
