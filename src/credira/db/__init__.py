"""Engine, sessions, column types and the few dialect differences, behind named helpers."""
