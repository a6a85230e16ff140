import pytest
from fastapi import FastAPI
from credira.callout import policy
from tests.support import Api
from tests.fuzz.test_callout_state_machine import test_callout_life_cycle_matches_the_model as run

async def test_mutant(api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy, "assert_deletable", lambda status: None)
    await run(api, app)
