"""The event log: every state change, and every other change a user may want to be told of."""
