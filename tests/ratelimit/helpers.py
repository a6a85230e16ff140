"""Shared by the rate-limit and cost-cap tests."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from tests.support import Api

REDIS_URL = os.environ.get("CREDIRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"
# Nothing listens on port 1: connections are refused at once.
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"
# What the test apps start with: no limit unless a test sets one.
UNLIMITED = {"rate_limit_per_key": "", "rate_limit_per_account": "", "rate_limit_create_call": ""}

MakeApi = Callable[..., Awaitable[Api]]
