"""The callout life cycle as a hypothesis state machine, against the API on both backends.

Rules create invoices and callouts, update, cancel and delete callouts, run them (there is no
worker here: ``active``, then ``completed`` or ``failed``, set through the callout state machine as
the worker sets them) and settle or reopen invoices. A model keeps what every callout's status must
be; after each step the API must agree with it, and the rules of API.md §2 and §3 must hold:

- a write the state forbids answers ``CONFLICT`` with its documented message, and changes nothing;
- a paid, void or disputed invoice has no scheduled or active callout;
- ``updated_time`` never goes back and is never before ``created_time``;
- the list of an invoice's callouts holds exactly the model's, and its total says so (checked
  after each step for the invoices the step touched, and for all of them when a run ends).

The machine runs in a worker thread (hypothesis drives it synchronously); each request is sent
on the test's event loop, where the app and its engine live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.callout.helpers import set_status as set_callout_status
from tests.support import Api, Tenant

T = TypeVar("T")

FINISHED = ("completed", "failed", "cancelled")
SETTLED = ("paid", "void", "disputed")
INVOICE_STATUSES = ("open", *SETTLED)
PRIORITIES = ("low", "medium", "high", "urgent")
MAX_INVOICES = 3

UPDATE_ACTIVE = "Cannot update callout that is currently active"
DELETE_ACTIVE = "Cannot delete callout that is currently active; cancel it or wait for it to finish"


@dataclass
class Driver:
    """Runs the machine's requests on the event loop of the test that started it."""

    api: Api
    app: FastAPI
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    async def set_status(self, callout_id: str, status: str) -> None:
        """What the worker does when it claims a callout (active) and when it is done."""
        await set_callout_status(self.app, callout_id, status)


@dataclass
class Expected:
    invoice_id: str
    status: str
    priority: str
    created_time: str
    updated_time: str


def _conflict(response: httpx.Response, message: str) -> None:
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "CONFLICT"
    assert body["error"]["message"] == message


class CalloutLifeCycle(RuleBasedStateMachine):
    driver: ClassVar[Driver]

    def __init__(self) -> None:
        super().__init__()
        self.invoices: dict[str, str] = {}  # id -> status
        self.callouts: dict[str, Expected] = {}
        self.deleted: dict[str, str] = {}  # callout id -> its invoice's id
        # The invoices whose callouts the last step may have changed: the invariant lists
        # those after every step, and teardown lists them all.
        self.touched: set[str] = set()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.driver.run(self.tenant.request(method, path, **kwargs))

    def _pick(self, data: st.DataObject, statuses: tuple[str, ...] | None = None) -> str:
        ids = [i for i, c in self.callouts.items() if statuses is None or c.status in statuses]
        callout_id = data.draw(st.sampled_from(sorted(ids)))
        self.touched.add(self.callouts[callout_id].invoice_id)
        return callout_id

    def _has(self, *statuses: str) -> bool:
        return any(c.status in statuses for c in self.callouts.values())

    def _saw(self, callout_id: str, data: dict[str, Any]) -> None:
        """Record a reply's callout, checking its times against what was seen before."""
        expected = self.callouts[callout_id]
        assert data["created_time"] == expected.created_time
        assert data["updated_time"] >= expected.updated_time, "updated_time went back"
        assert data["updated_time"] >= data["created_time"]
        expected.updated_time = data["updated_time"]

    # --- set-up -------------------------------------------------------------------------

    @initialize()
    def open_account(self) -> None:
        """A fresh account per run, so that runs sharing the database do not meet."""
        self.tenant: Tenant = self.driver.run(self.driver.api.tenant())
        # A read first stamps the new key; see test_first_write_with_a_new_key_is_prompt...
        assert self.send("GET", "/v1/voice-agents").status_code == 200
        self.agent_id: str = self.driver.run(self.tenant.agent())["id"]
        # Every run starts with an open invoice, a scheduled callout and a running one, so that
        # its few steps go into the life cycle rather than into setting it up.
        self.create_invoice()
        self.create_callout_for(next(iter(self.invoices)), "medium")
        self.create_callout_for(next(iter(self.invoices)), "high")
        self.start_run()

    # --- invoices -----------------------------------------------------------------------

    @precondition(lambda self: len(self.invoices) < MAX_INVOICES)
    @rule()
    def create_invoice(self) -> None:
        invoice = self.driver.run(self.tenant.invoice())
        assert invoice["status"] == "open"
        self.invoices[invoice["id"]] = "open"
        self.touched.add(invoice["id"])

    @precondition(lambda self: self.invoices)
    @rule(data=st.data(), status=st.sampled_from(INVOICE_STATUSES))
    def set_invoice_status(self, data: st.DataObject, status: str) -> None:
        invoice_id = data.draw(st.sampled_from(sorted(self.invoices)))
        self.touched.add(invoice_id)
        current = self.invoices[invoice_id]
        response = self.send("PUT", f"/v1/invoices/{invoice_id}", json={"status": status})
        if current == "void" and status != "void":
            _conflict(response, "Cannot change the status of a void invoice")
            return
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == status
        self.invoices[invoice_id] = status
        if status in SETTLED and status != current:
            for callout in self.callouts.values():
                if callout.invoice_id == invoice_id and callout.status in ("scheduled", "active"):
                    callout.status = "cancelled"

    # --- callouts through the API -------------------------------------------------------

    @precondition(lambda self: self.invoices)
    @rule(data=st.data(), priority=st.sampled_from(PRIORITIES))
    def create_callout(self, data: st.DataObject, priority: str) -> None:
        self.create_callout_for(data.draw(st.sampled_from(sorted(self.invoices))), priority)

    def create_callout_for(self, invoice_id: str, priority: str) -> None:
        self.touched.add(invoice_id)
        body = {
            "invoice_id": invoice_id,
            "scheduled_time": "2030-01-20T10:00:00Z",
            "priority": priority,
            "actions": {"calls_enabled": True, "voice_agent_id": self.agent_id},
        }
        response = self.send("POST", "/v1/callouts", json=body)
        status = self.invoices[invoice_id]
        if status != "open":
            _conflict(response, f"Cannot schedule a callout for a {status} invoice")
            return
        assert response.status_code == 201, response.text
        created = response.json()["data"]
        assert created["status"] == "scheduled"
        assert created["updated_time"] >= created["created_time"]
        self.callouts[created["id"]] = Expected(
            invoice_id, "scheduled", priority, created["created_time"], created["updated_time"]
        )

    @precondition(lambda self: self.callouts)
    @rule(data=st.data(), priority=st.sampled_from(PRIORITIES))
    def update_callout(self, data: st.DataObject, priority: str) -> None:
        callout_id = self._pick(data)
        expected = self.callouts[callout_id]
        response = self.send("PUT", f"/v1/callouts/{callout_id}", json={"priority": priority})
        if expected.status == "active":
            _conflict(response, UPDATE_ACTIVE)
        elif expected.status in FINISHED:
            _conflict(response, f"Cannot update callout that is already {expected.status}")
        else:
            assert response.status_code == 200, response.text
            self._saw(callout_id, response.json()["data"])
            expected.priority = priority

    @precondition(lambda self: self.callouts)
    @rule(data=st.data())
    def cancel_callout(self, data: st.DataObject) -> None:
        callout_id = self._pick(data)
        expected = self.callouts[callout_id]
        response = self.send("POST", f"/v1/callouts/{callout_id}/cancel", json={"reason": "test"})
        if expected.status in FINISHED:
            _conflict(response, f"Cannot cancel callout that is already {expected.status}")
            return
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == "cancelled"
        self._saw(callout_id, response.json()["data"])
        expected.status = "cancelled"

    @precondition(lambda self: self.callouts)
    @rule(data=st.data())
    def delete_callout(self, data: st.DataObject) -> None:
        callout_id = self._pick(data)
        response = self.send("DELETE", f"/v1/callouts/{callout_id}")
        if self.callouts[callout_id].status == "active":
            _conflict(response, DELETE_ACTIVE)
            return
        assert response.status_code == 200, response.text
        assert response.json()["data"]["deleted"] is True
        self.deleted[callout_id] = self.callouts.pop(callout_id).invoice_id

    @precondition(lambda self: self.deleted)
    @rule(data=st.data())
    def touch_deleted_callout(self, data: st.DataObject) -> None:
        callout_id = data.draw(st.sampled_from(sorted(self.deleted)))
        self.touched.add(self.deleted[callout_id])
        method, suffix = data.draw(
            st.sampled_from([("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/cancel")])
        )
        kwargs: dict[str, Any] = {"json": {"priority": "low"}} if method == "PUT" else {}
        response = self.send(method, f"/v1/callouts/{callout_id}{suffix}", **kwargs)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["message"] == "Callout not found"

    # --- the run, as the worker does it -------------------------------------------------
    # The worker takes the oldest due callout; these rules do the same, and take no argument
    # so that hypothesis (which tries rules with fewer arguments first) reaches them often.

    def _oldest(self, status: str) -> str:
        callout_id = min(i for i, c in self.callouts.items() if c.status == status)
        self.touched.add(self.callouts[callout_id].invoice_id)
        return callout_id

    @precondition(lambda self: self._has("scheduled"))
    @rule()
    def start_run(self) -> None:
        callout_id = self._oldest("scheduled")
        self.driver.run(self.driver.set_status(callout_id, "active"))
        self.callouts[callout_id].status = "active"

    def _finish_run(self, outcome: str) -> None:
        callout_id = self._oldest("active")
        self.driver.run(self.driver.set_status(callout_id, outcome))
        self.callouts[callout_id].status = outcome

    @precondition(lambda self: self._has("active"))
    @rule()
    def complete_run(self) -> None:
        self._finish_run("completed")

    @precondition(lambda self: self._has("active"))
    @rule()
    def fail_run(self) -> None:
        self._finish_run("failed")

    # --- what must hold after every step ------------------------------------------------

    @invariant()
    def api_agrees_with_the_model(self) -> None:
        for invoice_id in sorted(self.touched):
            self._check_invoice(invoice_id)
        self.touched.clear()

    def teardown(self) -> None:
        for invoice_id in sorted(self.invoices):
            self._check_invoice(invoice_id)

    def _check_invoice(self, invoice_id: str) -> None:
        """The invoice's callouts as listed are the model's, in status and times."""
        response = self.send("GET", "/v1/callouts", params={"invoice_id": invoice_id})
        assert response.status_code == 200, response.text
        body = response.json()
        listed = {c["id"]: c for c in body["data"]}
        expected = {i for i, c in self.callouts.items() if c.invoice_id == invoice_id}
        assert set(listed) == expected
        assert body["meta"]["total_callouts"] == len(expected)
        for callout_id, data in listed.items():
            assert data["status"] == self.callouts[callout_id].status, callout_id
            assert data["priority"] == self.callouts[callout_id].priority
            self._saw(callout_id, data)
            if self.invoices[invoice_id] in SETTLED:
                assert data["status"] not in ("scheduled", "active"), data


async def test_callout_life_cycle_matches_the_model(api: Api, app: FastAPI) -> None:
    class Machine(CalloutLifeCycle):
        driver = Driver(api, app, asyncio.get_running_loop())

    await asyncio.to_thread(
        run_state_machine_as_test,
        Machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
