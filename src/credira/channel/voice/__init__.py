"""The voice provider port, the built-in simulator, and the registry that picks one per agent."""
