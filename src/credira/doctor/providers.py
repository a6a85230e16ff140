"""The doctor's check of an account's voice provider: one harmless, authenticated read of the
provider's API at the account's ``api_base`` (the resource the stored settings name: Twilio's
account, Telnyx's Call Control application, Vapi's phone number, Retell's agent), and what it
says in plain words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from credira.doctor.finding import Finding


@dataclass(frozen=True)
class Read:
    """A provider's read: ``path`` under its ``api_base``, naming the setting ``names``."""

    title: str
    path: str
    names: str
    auth: Literal["basic", "bearer"]


READS: dict[str, Read] = {
    # https://www.twilio.com/docs/iam/api/account#fetch-an-account-resource
    "twilio": Read("Twilio", "/2010-04-01/Accounts/{}.json", "account_sid", "basic"),
    # https://developers.telnyx.com/api/call-control/retrieve-call-control-application
    "telnyx": Read("Telnyx", "/call_control_applications/{}", "connection_id", "bearer"),
    # https://docs.vapi.ai/api-reference/phone-numbers/get
    "vapi": Read("Vapi", "/phone-number/{}", "phone_number_id", "bearer"),
    # https://docs.retellai.com/api-references/get-agent
    "retell": Read("Retell", "/get-agent/{}", "agent_id", "bearer"),
}


def provider_check(
    account_id: str,
    provider: str,
    values: dict[str, str],
    api_base: str,
    within: float,
    public_url: str,
) -> Callable[[], Awaitable[Finding]]:
    """The check of one account's settings for ``provider``."""
    topic = f"provider {provider}"
    read = READS.get(provider)

    async def check() -> Finding:
        if read is None:
            return Finding("warn", topic, f"{account_id} has settings for unknown {provider}")
        name = values.get(read.names, "")
        url = f"{api_base.rstrip('/')}{read.path.format(name)}"
        auth: dict[str, Any] = (
            {"auth": (values.get("account_sid", ""), values.get("auth_token", ""))}
            if read.auth == "basic"
            else {"headers": {"Authorization": f"Bearer {values.get('api_key', '')}"}}
        )
        try:
            async with httpx.AsyncClient(timeout=within) as client:
                reply = await client.get(url, **auth)
        except httpx.HTTPError as exc:
            return Finding("fail", topic, f"cannot reach {api_base} for {account_id}: {exc!r}")
        fix = f"set them again with PUT /v1/account/providers/{provider}"
        if reply.status_code in (401, 403):
            whose = f" (account {name})" if provider == "twilio" else ""
            return Finding(
                "fail", topic, f"{read.title} refused the credentials of {account_id}{whose}: {fix}"
            )
        if reply.status_code == 404:
            return Finding(
                "fail",
                topic,
                f"{read.title} accepts {account_id}'s API key but has no {read.names} {name}: "
                f"check it and {fix}",
            )
        try:
            body = reply.json() if reply.status_code == 200 else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Finding(
                "fail",
                topic,
                f"{read.title} answered {reply.status_code} for {account_id}'s {read.names} "
                f"{name}, not the resource it documents",
            )
        return _read_back(provider, account_id, name, body, public_url)

    return check


def _read_back(
    provider: str, account_id: str, name: str, body: dict[str, Any], public_url: str
) -> Finding:
    """What the resource read says about the settings (they are good when it was read)."""
    topic = f"provider {provider}"
    if provider == "twilio":
        status = str(body.get("status", "active"))
        if status != "active":
            return Finding("fail", topic, f"{account_id}'s Twilio account {name} is {status}")
        return Finding("ok", topic, f"{account_id}'s Twilio account {name} is active")
    if provider == "telnyx":
        inner = body.get("data")
        data: dict[str, Any] = inner if isinstance(inner, dict) else body
        title = data.get("application_name") or name
        if data.get("active") is False:
            return Finding(
                "fail",
                topic,
                f"{account_id}'s Telnyx Call Control application {title} is inactive: turn it "
                "on in Telnyx",
            )
        return Finding(
            "ok", topic, f"{account_id}'s Telnyx Call Control application {title} answers"
        )
    if provider == "vapi":
        number = body.get("number") or body.get("sipUri") or name
        return Finding("ok", topic, f"{account_id}'s Vapi phone number {number} answers")
    hook = f"{public_url.rstrip('/')}/hooks/retell"
    title = body.get("agent_name") or name
    set_to = body.get("webhook_url")
    if set_to and set_to != hook:
        return Finding(
            "warn",
            topic,
            f"{account_id}'s Retell agent {title} sends its webhooks to {set_to}, not to {hook}: "
            "Credira only hears of its calls by asking Retell. Set the agent's webhook URL",
        )
    return Finding("ok", topic, f"{account_id}'s Retell agent {title} answers")
