"""The worker: claims due callouts, runs them through the channels under the rules, and
records every attempt. Embedded in ``credira serve`` or alone as ``credira worker``."""
