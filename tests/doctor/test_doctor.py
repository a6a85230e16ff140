"""``credira doctor``: a healthy deployment passes; each broken dependency is named in plain
words (and makes the command exit 1) without a traceback: an unreachable database, mail server
or Redis, a schema that needs migrating, a refused SMTP login, secrets the configured key does
not open, a failing webhook endpoint, callouts no worker takes."""

from __future__ import annotations

import base64
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from click.testing import CliRunner
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import update

from credira.auth.permissions import ALL_PERMISSIONS
from credira.cli import main
from credira.config import Settings
from credira.db import migrate
from credira.doctor.checks import Finding, check_all
from credira.models import WebhookEndpoint
from tests.channel.smtpd import SmtpServer, self_signed_certificate
from tests.support import Api, free_port
from tests.telephony.fake_retell import FakeRetell
from tests.telephony.fake_telnyx import FakeTelnyx
from tests.telephony.fake_vapi import FakeVapi


def by_topic(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.topic, []).append(finding)
    return grouped


def levels(findings: list[Finding], topic: str) -> set[str]:
    return {f.level for f in by_topic(findings).get(topic, [])}


def run_cli(**env: str) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CREDIRA_")}
    result = CliRunner().invoke(main, ["doctor", "--timeout", "3"], env={**clean, **env})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_a_healthy_deployment_passes(tmp_path: Path) -> None:
    migrate.upgrade(f"sqlite+aiosqlite:///{tmp_path}/credira.db")
    code, output = run_cli(CREDIRA_DATA_DIR=str(tmp_path))
    assert code == 0, output
    assert "ok    database: sqlite" in output
    assert "schema at" in output
    assert "warn  email: no CREDIRA_SMTP_URL" in output
    assert "no problems found" in output


def test_unreachable_services_are_named(tmp_path: Path) -> None:
    code, output = run_cli(
        CREDIRA_DATA_DIR=str(tmp_path),
        CREDIRA_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/credira",
        CREDIRA_SMTP_URL=f"smtp://ops:hunter2@127.0.0.1:{free_port()}",
        CREDIRA_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    assert code == 1
    assert "FAIL  database: cannot reach postgresql+asyncpg://postgres@127.0.0.1" in output
    assert "connection refused. Is PostgreSQL running there" in output
    assert "FAIL  email: cannot reach the mail server smtp://ops:***@127.0.0.1" in output
    assert "FAIL  redis: cannot reach Redis at redis://127.0.0.1" in output
    assert "hunter2" not in output
    assert "Traceback" not in output
    assert "3 problems found" in output


def test_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    code, output = run_cli(CREDIRA_DATA_DIR=str(tmp_path))
    assert code == 1
    assert "is empty: run `credira migrate`" in output


async def test_the_mail_server_login_is_checked(settings: Settings, tmp_path: Path) -> None:
    certificate = self_signed_certificate(tmp_path)
    with SmtpServer(starttls=certificate.server_context(), users={"ops": "right"}) as server:
        base = f"127.0.0.1:{server.port}?starttls=true&tls_verify=false"
        good = settings.model_copy(update={"smtp_url": f"smtp://ops:right@{base}"})
        bad = settings.model_copy(update={"smtp_url": f"smtp://ops:wrong@{base}"})
        assert levels(await check_all(good, within=5), "email") == {"ok"}
        refused = by_topic(await check_all(bad, within=5))["email"]
    assert refused[0].level == "fail"
    assert "refused the user name and password" in refused[0].text


async def test_failing_webhooks_and_idle_workers_are_problems(
    app: FastAPI, api: Api, settings: Settings
) -> None:
    tenant = await api.tenant()
    hook = await tenant.created(
        "/v1/webhooks", {"url": "https://receiver.example/hooks", "event_types": ["callout.*"]}
    )
    invoice, agent, _ = await tenant.scenario()
    await tenant.callout(invoice["id"], agent["id"], scheduled_time="2020-01-01T00:00:00Z")
    async with app.state.runtime.sessionmaker() as session:
        since = datetime.now(UTC) - timedelta(hours=3)
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == hook["id"])
            .values(failing_since=since)
        )
        await session.commit()

    found = by_topic(await check_all(settings, within=5))
    webhook = [f for f in found["webhooks"] if f.level == "fail"]
    assert len(webhook) == 1
    assert hook["id"] in webhook[0].text
    assert "has failed every delivery for 3.0 h" in webhook[0].text
    assert found["worker"][0].level == "fail"
    assert "no worker is taking them" in found["worker"][0].text
    assert {f.level for f in found["secrets"]} == {"ok"}


async def test_secrets_the_key_does_not_open_are_named(
    app: FastAPI, api: Api, settings: Settings
) -> None:
    tenant = await api.tenant()
    hook = await tenant.created(
        "/v1/webhooks", {"url": "https://receiver.example/hooks", "event_types": ["call.*"]}
    )
    other_key = settings.model_copy(update={"encryption_key": Fernet.generate_key().decode()})
    secrets = by_topic(await check_all(other_key, within=5))["secrets"]
    assert secrets[0].level == "fail"
    assert f"webhook {hook['id']}" in secrets[0].text
    assert "was CREDIRA_ENCRYPTION_KEY changed?" in secrets[0].text


async def test_an_invalid_encryption_key_is_named(
    app: FastAPI, api: Api, settings: Settings
) -> None:
    tenant = await api.tenant()
    await tenant.created(
        "/v1/webhooks", {"url": "https://receiver.example/hooks", "event_types": ["call.*"]}
    )
    broken = settings.model_copy(update={"encryption_key": "not-a-key"})
    secrets = by_topic(await check_all(broken, within=5))["secrets"]
    assert secrets[0].level == "fail"
    assert "CREDIRA_ENCRYPTION_KEY is invalid" in secrets[0].text


SID = "AC" + "5" * 32
TOKEN = "9f" * 16


class TwilioAccounts(BaseHTTPRequestHandler):
    """Twilio's account resource as its REST API answers it: ``GET
    /2010-04-01/Accounts/{Sid}.json`` with Basic auth, 401 (code 20003) without the right
    token; ``status`` is set by the test."""

    status = "active"

    def do_GET(self) -> None:
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if self.path != f"/2010-04-01/Accounts/{SID}.json":
            self._reply(404, {"code": 20404, "message": "The requested resource was not found"})
        elif self.headers.get("Authorization") != expected:
            self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        else:
            self._reply(200, {"sid": SID, "status": self.status, "friendly_name": "Acme"})

    def _reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_twilio_credentials_are_asked_of_twilio(
    app: FastAPI, api: Api, settings: Settings
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TwilioAccounts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
        path = "/v1/account/providers/twilio"
        body = {"account_sid": SID, "auth_token": TOKEN, "api_base": base}
        await tenant.ok("PUT", path, json=body)
        good = by_topic(await check_all(settings, within=5))["provider twilio"]
        assert [f.level for f in good] == ["ok"]
        assert f"{tenant.account_id}'s Twilio account {SID} is active" in good[0].text

        await tenant.ok("PUT", path, json={"auth_token": "0" * 32})
        refused = by_topic(await check_all(settings, within=5))["provider twilio"]
        assert [f.level for f in refused] == ["fail"]
        assert f"Twilio refused the credentials of {tenant.account_id}" in refused[0].text
    finally:
        server.shutdown()
        server.server_close()


async def test_each_providers_credentials_are_asked_of_it(
    app: FastAPI, api: Api, settings: Settings, client: httpx.AsyncClient
) -> None:
    """Telnyx, Vapi and Retell are each asked with the stored credentials for the resource
    they name (the local fakes check the key as the providers do)."""
    tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
    telnyx = FakeTelnyx("KEY" + "1" * 40, "1494404757140276705", client)
    vapi = FakeVapi("vapi-" + "2" * 32, "6a1f3c9e-0000-4000-8000-00000000abcd", "s" * 32, client)
    retell = FakeRetell("key_" + "3" * 28, "agent_" + "a" * 24, client)
    retell.agent_webhook_url = f"{settings.public_url}/hooks/retell"
    async with telnyx, vapi, retell:
        stored = {
            "telnyx": {
                "api_key": telnyx.api_key,
                "connection_id": telnyx.connection_id,
                "public_key": telnyx.public_key,
                "api_base": telnyx.url,
            },
            "vapi": {
                "api_key": vapi.api_key,
                "phone_number_id": vapi.phone_number_id,
                "webhook_secret": vapi.secret,
                "api_base": vapi.url,
            },
            "retell": {
                "api_key": retell.api_key,
                "agent_id": retell.agent_id,
                "api_base": retell.url,
            },
        }
        for provider, body in stored.items():
            await tenant.ok("PUT", f"/v1/account/providers/{provider}", json=body)

        async def found() -> dict[str, tuple[str, str]]:
            topics = by_topic(await check_all(settings, within=5))
            return {
                p: (topics[f"provider {p}"][0].level, topics[f"provider {p}"][0].text)
                for p in stored
            }

        who = tenant.account_id
        assert await found() == {
            "telnyx": (
                "ok",
                f"{who}'s Telnyx Call Control application Credira collections answers",
            ),
            "vapi": ("ok", f"{who}'s Vapi phone number +14155550123 answers"),
            "retell": ("ok", f"{who}'s Retell agent Ava answers"),
        }

        # A key the provider refuses, an id it does not know, and what the resource says.
        await tenant.ok("PUT", "/v1/account/providers/telnyx", json={"api_key": "KEY" + "9" * 40})
        await tenant.ok("PUT", "/v1/account/providers/vapi", json={"phone_number_id": "gone"})
        retell.agent_webhook_url = "https://old.example/retell"
        now = await found()
        assert now["telnyx"] == (
            "fail",
            f"Telnyx refused the credentials of {who}: set them again with "
            "PUT /v1/account/providers/telnyx",
        )
        assert now["vapi"] == (
            "fail",
            f"Vapi accepts {who}'s API key but has no phone_number_id gone: check it and set "
            "them again with PUT /v1/account/providers/vapi",
        )
        assert now["retell"][0] == "warn"
        assert "sends its webhooks to https://old.example/retell" in now["retell"][1]

        await tenant.ok("PUT", "/v1/account/providers/telnyx", json={"api_key": telnyx.api_key})
        telnyx.application_active = False
        await tenant.ok("PUT", "/v1/account/providers/retell", json={"agent_id": "agent_gone"})
        down = f"http://127.0.0.1:{free_port()}"
        await tenant.ok("PUT", "/v1/account/providers/vapi", json={"api_base": down})
        now = await found()
        assert now["telnyx"][0] == "fail"
        assert "Call Control application Credira collections is inactive" in now["telnyx"][1]
        assert now["retell"][0] == "fail"
        assert f"Retell accepts {who}'s API key but has no agent_id agent_gone" in now["retell"][1]
        assert now["vapi"][0] == "fail"
        assert now["vapi"][1].startswith(f"cannot reach {down} for {who}")
    assert [] == telnyx.problems == vapi.problems == retell.problems
