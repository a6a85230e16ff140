"""Credira: self-hostable debt-recovery outreach (scheduled voice calls and emails per invoice)."""

__version__ = "0.1.0"
