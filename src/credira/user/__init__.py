"""Users of an account, their API keys, and the accounts they create."""
