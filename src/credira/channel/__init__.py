"""Outbound channels as ports, with real adapters behind them (voice, email)."""
