"""Invoices: the debts callouts are about."""
