"""Users, their keys and permissions, through the API (and the database for key storage)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from credira.models import ApiKey, Base
from tests.support import Api, Tenant, bearer
from tests.user.helpers import (
    ADMIN,
    DEFAULTS,
    EVERY_PERMISSION,
    TIMESTAMP,
    assert_error,
    create_user,
    member,
)

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


async def get_user(api: Api, user_id: str, headers: dict[str, str] = ADMIN) -> dict[str, Any]:
    response = await api.client.get(f"/v1/users/{user_id}", headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def key_works(api: Api, key: str) -> bool:
    """Whether ``key`` authenticates (a read every default user may do)."""
    response = await api.client.get("/v1/invoices", headers=bearer(key))
    if response.status_code == 401:
        assert response.json()["error"]["message"] == "Invalid or missing API key"
        assert response.headers["WWW-Authenticate"] == "Bearer"
        return False
    assert response.status_code == 200, response.text
    return True


async def account_emails(api: Api, key: str) -> list[str]:
    response = await api.client.get("/v1/users", headers=bearer(key))
    assert response.status_code == 200, response.text
    return sorted(u["email"] for u in response.json()["data"])


async def database_text(app: FastAPI) -> str:
    """Every value of every column of every table, as one text to search."""
    chunks: list[str] = []
    async with app.state.runtime.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            for row in rows:
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value).decode("utf-8", "replace"))
                    else:
                        chunks.append(str(value))
    return "\n".join(chunks)


# --- keys -----------------------------------------------------------------------------------


async def test_api_key_is_returned_by_create_only(api: Api) -> None:
    tenant = await api.tenant()
    manager = await member(api, tenant.account_id, permissions=EVERY_PERMISSION)
    assert manager["api_key"].startswith("credira_sk_")
    assert len(manager["api_key"]) > len("credira_sk_") + 30
    headers = bearer(manager["api_key"])

    replies = [
        await api.client.get(f"/v1/users/{tenant.user_id}", headers=headers),
        await api.client.put(f"/v1/users/{tenant.user_id}", json={"role": "x"}, headers=headers),
        await api.client.get("/v1/users", headers=headers),
    ]

    for reply in replies:
        assert reply.status_code == 200, reply.text
        assert "api_key" not in reply.text
        assert tenant.key not in reply.text


async def test_database_holds_only_the_key_hash(api: Api, app: FastAPI) -> None:
    tenant = await api.tenant()
    await tenant.scenario()

    async with app.state.runtime.sessionmaker() as session:
        keys = (await session.scalars(select(ApiKey).where(ApiKey.user_id == tenant.user_id))).all()
    assert len(keys) == 1
    assert SHA256_HEX.fullmatch(keys[0].key_hash)
    assert keys[0].key_hash == hashlib.sha256(tenant.key.encode()).hexdigest()
    assert tenant.key not in await database_text(app)


async def test_idempotent_create_does_not_store_the_plaintext_key(api: Api, app: FastAPI) -> None:
    response = await create_user(api, headers={**ADMIN, "Idempotency-Key": "create-jane-1"})
    key = response.json()["data"]["api_key"]

    assert key not in await database_text(app)


async def test_rotated_key_is_stored_only_as_a_hash(api: Api, app: FastAPI) -> None:
    tenant = await api.tenant()

    response = await tenant.request("POST", f"/v1/users/{tenant.user_id}/rotate-key")

    assert response.status_code == 201, response.text
    new_key = response.json()["data"]["api_key"]
    assert new_key.startswith("credira_sk_")
    stored = await database_text(app)
    assert new_key not in stored
    assert hashlib.sha256(new_key.encode()).hexdigest() in stored


# --- create ---------------------------------------------------------------------------------


async def test_new_user_gets_default_permissions(api: Api) -> None:
    response = await create_user(api)

    data = response.json()["data"]
    assert sorted(data["permissions"]) == sorted(
        [
            *(
                f"{r}:{a}"
                for r in (
                    "calls",
                    "emails",
                    "callouts",
                    "invoices",
                    "voice_agents",
                    "webhooks",
                    "plans",
                )
                for a in ("read", "write")
            ),
            "events:read",
        ]
    )
    assert (await get_user(api, data["id"]))["permissions"] == data["permissions"]


async def test_admin_creates_user_in_existing_account(api: Api) -> None:
    tenant = await api.tenant(permissions=EVERY_PERMISSION)

    data = await member(api, tenant.account_id)

    assert data["account_id"] == tenant.account_id
    assert data["email"] in await account_emails(api, tenant.key)


async def test_admin_without_account_id_creates_a_new_account(api: Api) -> None:
    first = await api.tenant(permissions=EVERY_PERMISSION)

    data = (await create_user(api, company="Globex", permissions=EVERY_PERMISSION)).json()["data"]

    assert data["account_id"].startswith("acc_")
    assert data["account_id"] != first.account_id
    assert data["company"] == "Globex"
    assert await account_emails(api, data["api_key"]) == [data["email"]]
    assert data["email"] not in await account_emails(api, first.key)


@pytest.mark.parametrize("account", ["none", "own"])
async def test_user_with_users_write_creates_users_in_its_own_account(
    api: Api, account: str
) -> None:
    manager = await api.tenant(permissions=EVERY_PERMISSION)
    extra = {"account_id": manager.account_id} if account == "own" else {}

    data = (await create_user(api, headers=manager.headers, **extra)).json()["data"]

    assert data["account_id"] == manager.account_id
    assert data["api_key"].startswith("credira_sk_")
    assert await key_works(api, data["api_key"])


@pytest.mark.parametrize(
    ("account_id", "status", "code", "message"),
    [
        ("other", 404, "NOT_FOUND", "Account not found"),
        ("acc_123456789", 404, "NOT_FOUND", "Account not found"),
        ("account-1", 400, "INVALID_REQUEST", "Invalid account ID format"),
    ],
)
async def test_user_cannot_create_users_in_another_account(
    api: Api, account_id: str, status: int, code: str, message: str
) -> None:
    manager = await api.tenant(permissions=EVERY_PERMISSION)
    other = await api.tenant(company="Globex", permissions=EVERY_PERMISSION)
    target = other.account_id if account_id == "other" else account_id
    before = await account_emails(api, other.key)

    response = await api.client.post(
        "/v1/users",
        json={"email": "in@evil.example.com", "name": "I", "company": "E", "account_id": target},
        headers=manager.headers,
    )

    assert_error(response, status, code, message)
    assert await account_emails(api, other.key) == before
    assert "in@evil.example.com" not in await account_emails(api, manager.key)


@pytest.mark.parametrize(
    ("granted", "wanted", "missing"),
    [
        # No permissions asked for: the defaults exceed what the creator holds.
        (["users:write", "users:read"], None, "calls:read"),
        ([*DEFAULTS, "users:write"], [*DEFAULTS, "users:read"], "users:read"),
    ],
    ids=["defaults", "explicit"],
)
async def test_user_cannot_grant_permissions_it_lacks(
    api: Api, granted: list[str], wanted: list[str] | None, missing: str
) -> None:
    owner = await api.tenant(permissions=EVERY_PERMISSION)
    manager = await member(api, owner.account_id, permissions=granted)
    body: dict[str, Any] = {"email": "new@acme.example.com", "name": "N", "company": "Acme"}
    if wanted is not None:
        body["permissions"] = wanted

    response = await api.client.post("/v1/users", json=body, headers=bearer(manager["api_key"]))

    assert_error(response, 403, "FORBIDDEN", f"You don't have permission to grant {missing}")
    assert "new@acme.example.com" not in await account_emails(api, owner.key)


async def test_user_without_users_write_cannot_create_users(api: Api) -> None:
    tenant = await api.tenant()

    response = await create_user(api, headers=tenant.headers, expect=403)

    assert_error(response, 403, "FORBIDDEN", "You don't have permission to create users")


async def test_duplicate_email_in_account_conflicts_whatever_its_case(api: Api) -> None:
    owner = await api.tenant(permissions=EVERY_PERMISSION)
    await member(api, owner.account_id, email="dup@acme.example.com")

    for second in ("dup@acme.example.com", "Dup@Acme.Example.com", "DUP@acme.example.com"):
        response = await api.client.post(
            "/v1/users",
            json={
                "email": second,
                "name": "Twin",
                "company": "Acme",
                "account_id": owner.account_id,
            },
            headers=ADMIN,
        )

        assert response.status_code == 409, (second, response.text)
        assert_error(response, 409, "CONFLICT")
    emails = await account_emails(api, owner.key)
    assert [e.lower() for e in emails].count("dup@acme.example.com") == 1


async def test_same_email_in_another_account_is_allowed(api: Api) -> None:
    first = await api.tenant()
    await member(api, first.account_id, email="shared@example.com")

    response = await create_user(api, company="Globex", email="shared@example.com")

    assert response.json()["data"]["account_id"] != first.account_id


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_unknown_permission_is_validation_error_naming_the_field(
    api: Api, method: str
) -> None:
    tenant = await api.tenant()
    body: dict[str, Any] = {"permissions": ["calls:read", "billing:admin"]}
    if method == "POST":
        body |= {"email": "p@acme.example.com", "name": "P", "company": "Acme"}
        response = await api.client.post("/v1/users", json=body, headers=ADMIN)
    else:
        response = await api.client.put(f"/v1/users/{tenant.user_id}", json=body, headers=ADMIN)

    error = assert_error(response, 422, "VALIDATION_ERROR")["error"]
    assert "permissions" in error["message"]
    assert "billing:admin" in error["details"]
    assert sorted((await get_user(api, tenant.user_id))["permissions"]) == sorted(DEFAULTS)


# --- read -----------------------------------------------------------------------------------


async def test_user_reads_itself_without_users_read(api: Api) -> None:
    tenant = await api.tenant()

    data = await get_user(api, tenant.user_id, tenant.headers)

    assert data["id"] == tenant.user_id
    assert "users:read" not in data["permissions"]


@pytest.mark.parametrize(("perms", "status"), [([], 403), (["users:read"], 200)])
async def test_reading_a_colleague_needs_users_read(
    api: Api, perms: list[str], status: int
) -> None:
    tenant = await api.tenant()
    colleague = await member(api, tenant.account_id, permissions=perms)

    response = await api.client.get(
        f"/v1/users/{tenant.user_id}", headers=bearer(colleague["api_key"])
    )

    assert response.status_code == status, response.text
    if status == 403:
        assert_error(response, 403, "FORBIDDEN", "You don't have permission to access this user")
    else:
        assert response.json()["data"]["id"] == tenant.user_id


async def test_last_login_is_set_once_the_key_is_used(api: Api) -> None:
    tenant = await api.tenant()
    fresh = await get_user(api, tenant.user_id)
    assert fresh["last_login"] is None
    assert fresh["activity_stats"]["last_activity"] is None

    assert await key_works(api, tenant.key)

    used = await get_user(api, tenant.user_id)
    assert TIMESTAMP.fullmatch(used["last_login"])
    assert TIMESTAMP.fullmatch(used["activity_stats"]["last_activity"])
    assert used["last_login"] >= used["created_time"]


async def test_first_request_reading_itself_shows_its_own_login(api: Api) -> None:
    tenant = await api.tenant()

    data = await get_user(api, tenant.user_id, tenant.headers)

    assert data["last_login"] is not None
    assert TIMESTAMP.fullmatch(data["last_login"])


async def test_activity_stats_count_callouts_the_user_created(api: Api) -> None:
    tenant = await api.tenant()
    colleague_data = await member(api, tenant.account_id)
    colleague = Tenant(api, colleague_data["api_key"], colleague_data["id"], tenant.account_id)
    invoice, agent, _ = await tenant.scenario()
    await tenant.callout(invoice["id"], agent["id"])
    await colleague.callout(invoice["id"], agent["id"])

    own = await get_user(api, tenant.user_id, tenant.headers)
    other = await get_user(api, colleague.user_id, colleague.headers)

    assert own["activity_stats"]["total_callouts_created"] == 2
    assert other["activity_stats"]["total_callouts_created"] == 1


# --- update ---------------------------------------------------------------------------------


async def test_update_changes_fields_and_merges_metadata(api: Api) -> None:
    tenant = await api.tenant(metadata={"plan": "premium", "language": "en", "team": "a"})
    before = await get_user(api, tenant.user_id)
    body = {
        "name": "John Smith",
        "role": "senior_billing_manager",
        "department": "finance",
        "phone": "+14155550199",
        "metadata": {"plan": "enterprise", "team": None, "notes": "promoted"},
    }

    response = await api.client.put(f"/v1/users/{tenant.user_id}", json=body, headers=ADMIN)

    assert response.status_code == 200, response.text
    after = await get_user(api, tenant.user_id)
    assert response.json()["data"] == {
        **after,
        "updated_time": response.json()["data"]["updated_time"],
    }
    for field in ("name", "role", "department", "phone"):
        assert after[field] == body[field]
    assert after["metadata"] == {"plan": "enterprise", "language": "en", "notes": "promoted"}
    for field in ("email", "company", "account_id", "created_time", "permissions", "status"):
        assert after[field] == before[field]


BAD_UPDATES = [
    ({"email": "new@acme.example.com"}, 400, "INVALID_REQUEST"),
    ({"company": "Other"}, 400, "INVALID_REQUEST"),
    ({"account_id": "acc_123456789"}, 400, "INVALID_REQUEST"),
    ({"status": "deleted"}, 422, "VALIDATION_ERROR"),
    ({"phone": "12345"}, 422, "VALIDATION_ERROR"),
    ({"permissions": "calls:read"}, 422, "VALIDATION_ERROR"),
]


async def test_update_refuses_bad_fields_and_changes_nothing(api: Api) -> None:
    tenant = await api.tenant()
    before = await get_user(api, tenant.user_id)

    for body, status, code in BAD_UPDATES:
        response = await api.client.put(f"/v1/users/{tenant.user_id}", json=body, headers=ADMIN)

        assert response.status_code == status, (body, response.text)
        assert_error(response, status, code)
        assert await get_user(api, tenant.user_id) == before, body


@pytest.mark.parametrize("status", ["inactive", "suspended"])
async def test_inactive_user_key_fails_at_once_and_works_again_when_active(
    api: Api, status: str
) -> None:
    tenant = await api.tenant()
    assert await key_works(api, tenant.key)

    response = await api.client.put(
        f"/v1/users/{tenant.user_id}", json={"status": status}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == status
    assert not await key_works(api, tenant.key)
    own = await api.client.get(f"/v1/users/{tenant.user_id}", headers=tenant.headers)
    assert_error(own, 401, "UNAUTHORIZED", "Invalid or missing API key")

    reactivate = await api.client.put(
        f"/v1/users/{tenant.user_id}", json={"status": "active"}, headers=ADMIN
    )
    assert reactivate.status_code == 200, reactivate.text
    assert await key_works(api, tenant.key)


async def test_user_cannot_grant_itself_permissions_it_lacks(api: Api) -> None:
    owner = await api.tenant(permissions=EVERY_PERMISSION)
    manager = await member(api, owner.account_id, permissions=[*DEFAULTS, "users:write"])

    response = await api.client.put(
        f"/v1/users/{manager['id']}",
        json={"permissions": [*DEFAULTS, "users:write", "users:read"]},
        headers=bearer(manager["api_key"]),
    )

    assert_error(response, 403, "FORBIDDEN", "You don't have permission to grant users:read")
    assert "users:read" not in (await get_user(api, manager["id"]))["permissions"]


async def test_stale_if_match_on_update_is_refused(api: Api) -> None:
    tenant = await api.tenant()
    first = await api.client.get(f"/v1/users/{tenant.user_id}", headers=ADMIN)
    etag = first.headers["ETag"]
    changed = await api.client.put(
        f"/v1/users/{tenant.user_id}", json={"role": "a"}, headers={**ADMIN, "If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] != etag

    stale = await api.client.put(
        f"/v1/users/{tenant.user_id}", json={"role": "b"}, headers={**ADMIN, "If-Match": etag}
    )

    assert_error(stale, 412, "PRECONDITION_FAILED")
    assert (await get_user(api, tenant.user_id))["role"] == "a"


# --- delete ---------------------------------------------------------------------------------


async def test_delete_user_revokes_its_key_and_keeps_its_callouts(api: Api) -> None:
    owner = await api.tenant(permissions=EVERY_PERMISSION)
    leaver_data = await member(api, owner.account_id)
    leaver = Tenant(api, leaver_data["api_key"], leaver_data["id"], owner.account_id)
    _, _, callout = await leaver.scenario()
    assert await key_works(api, leaver.key)

    response = await owner.request("DELETE", f"/v1/users/{leaver.user_id}")

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == leaver.user_id
    assert data["deleted"] is True
    assert TIMESTAMP.fullmatch(data["deleted_time"])
    assert data["deleted_items"] == {
        "user_account": True,
        "api_keys": 1,
        "activity_history": True,
        "associated_resources": {"calls": 0, "emails": 0, "callouts": 1},
    }
    assert not await key_works(api, leaver.key)
    gone = await owner.request("GET", f"/v1/users/{leaver.user_id}")
    assert_error(gone, 404, "NOT_FOUND", "User not found")
    again = await owner.request("DELETE", f"/v1/users/{leaver.user_id}")
    assert_error(again, 404, "NOT_FOUND", "User not found")
    # Business records belong to the account: the callout stays.
    assert (await owner.ok("GET", f"/v1/callouts/{callout['id']}"))["data"]["id"] == callout["id"]
    assert leaver_data["email"] not in await account_emails(api, owner.key)


async def test_user_deleting_itself_loses_access_at_once(api: Api) -> None:
    owner = await api.tenant(permissions=EVERY_PERMISSION)
    manager = await member(api, owner.account_id, permissions=EVERY_PERMISSION)

    response = await api.client.delete(
        f"/v1/users/{manager['id']}", headers=bearer(manager["api_key"])
    )

    assert response.status_code == 200, response.text
    assert not await key_works(api, manager["api_key"])


# --- list -----------------------------------------------------------------------------------


async def test_list_users_shows_the_account_with_total_and_pagination(api: Api) -> None:
    owner = await api.tenant(permissions=EVERY_PERMISSION)
    ids = [owner.user_id] + [(await member(api, owner.account_id))["id"] for _ in range(2)]
    await api.tenant(company="Globex")

    everyone = await owner.ok("GET", "/v1/users")
    first = await owner.ok("GET", "/v1/users", params={"limit": 2})
    rest = await owner.ok(
        "GET", "/v1/users", params={"limit": 2, "starting_after": first["data"][-1]["id"]}
    )

    assert [u["id"] for u in everyone["data"]] == ids
    assert everyone["meta"]["total_users"] == 3
    assert everyone["meta"]["has_more"] is False
    assert [u["id"] for u in first["data"]] == ids[:2]
    assert first["meta"]["has_more"] is True
    assert first["meta"]["total_users"] == 3
    assert [u["id"] for u in rest["data"]] == ids[2:]
    assert rest["meta"]["has_more"] is False
    for user in everyone["data"]:
        assert user["account_id"] == owner.account_id
        assert "api_key" not in user
        assert set(user["activity_stats"]) == {
            "total_calls_made",
            "total_emails_sent",
            "total_callouts_created",
            "last_activity",
        }


async def test_list_users_filters_by_status(api: Api) -> None:
    owner = await api.tenant(permissions=EVERY_PERMISSION)
    idle = await member(api, owner.account_id)
    await api.client.put(f"/v1/users/{idle['id']}", json={"status": "suspended"}, headers=ADMIN)

    suspended = await owner.ok("GET", "/v1/users", params={"status": "suspended"})
    active = await owner.ok("GET", "/v1/users", params={"status": "active"})

    assert [u["id"] for u in suspended["data"]] == [idle["id"]]
    assert suspended["meta"]["total_users"] == 1
    assert [u["id"] for u in active["data"]] == [owner.user_id]


async def test_list_users_needs_users_read(api: Api) -> None:
    tenant = await api.tenant()

    response = await tenant.request("GET", "/v1/users")

    assert_error(response, 403, "FORBIDDEN", "You don't have permission to list users")


# --- rotate ---------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, {}, {"revoke_existing": True}])
async def test_rotate_key_revokes_the_old_key(api: Api, body: dict[str, Any] | None) -> None:
    tenant = await api.tenant()

    response = await tenant.request("POST", f"/v1/users/{tenant.user_id}/rotate-key", json=body)

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["id"] == tenant.user_id
    assert data["api_key"].startswith("credira_sk_")
    assert data["api_key"] != tenant.key
    assert not await key_works(api, tenant.key)
    assert await key_works(api, data["api_key"])


async def test_rotate_key_can_keep_the_old_key(api: Api) -> None:
    tenant = await api.tenant()

    response = await tenant.request(
        "POST", f"/v1/users/{tenant.user_id}/rotate-key", json={"revoke_existing": False}
    )

    assert response.status_code == 201, response.text
    assert await key_works(api, tenant.key)
    assert await key_works(api, response.json()["data"]["api_key"])


@pytest.mark.parametrize(("perms", "status"), [(DEFAULTS, 403), (EVERY_PERMISSION, 201)])
async def test_rotating_a_colleagues_key_needs_users_write(
    api: Api, perms: list[str], status: int
) -> None:
    tenant = await api.tenant()
    colleague = await member(api, tenant.account_id, permissions=perms)

    response = await api.client.post(
        f"/v1/users/{tenant.user_id}/rotate-key", headers=bearer(colleague["api_key"])
    )

    assert response.status_code == status, response.text
    assert await key_works(api, tenant.key) is (status == 403)


async def test_rotating_a_key_in_another_account_is_not_found(api: Api) -> None:
    tenant = await api.tenant()
    stranger = await api.tenant(company="Globex", permissions=EVERY_PERMISSION)

    response = await stranger.request("POST", f"/v1/users/{tenant.user_id}/rotate-key")

    assert_error(response, 404, "NOT_FOUND", "User not found")
    assert await key_works(api, tenant.key)


# --- managing a more privileged user ----------------------------------------------------------

MANAGER = ["users:read", "users:write"]


async def key_count(app: FastAPI, user_id: str) -> int:
    async with app.state.runtime.sessionmaker() as session:
        rows = (await session.execute(select(ApiKey).where(ApiKey.user_id == user_id))).all()
    return len(rows)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "/rotate-key", {"revoke_existing": False}),
        ("POST", "/rotate-key", None),
        ("PUT", "", {"status": "suspended"}),
        ("PUT", "", {"permissions": ["users:read"]}),
        ("PUT", "", {"name": "Taken Over"}),
        ("DELETE", "", None),
    ],
    ids=["rotate-keeping-old-key", "rotate", "suspend", "strip-permissions", "rename", "delete"],
)
async def test_privilege_escalation_through_key_rotation_is_forbidden(
    api: Api, app: FastAPI, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    """A user holding only users:read and users:write must not get the key of (nor change, nor
    delete) a user holding every permission: that new key would place calls for it."""
    owner = await api.tenant(permissions=EVERY_PERMISSION)
    manager = await member(api, owner.account_id, permissions=MANAGER)
    before = await get_user(api, owner.user_id)

    response = await api.client.request(
        method, f"/v1/users/{owner.user_id}{suffix}", json=body, headers=bearer(manager["api_key"])
    )

    assert_error(
        response, 403, "FORBIDDEN", "You don't have permission to manage a user holding calls:read"
    )
    assert "credira_sk_" not in response.text
    assert await key_count(app, owner.user_id) == 1
    assert await key_works(api, owner.key)
    after = await get_user(api, owner.user_id)
    for name in ("name", "status", "permissions", "metadata"):
        assert after[name] == before[name]


async def test_users_holding_nothing_more_than_the_caller_stay_manageable(api: Api) -> None:
    owner = await api.tenant(permissions=EVERY_PERMISSION)
    manager = await member(api, owner.account_id, permissions=MANAGER)
    peer = await member(api, owner.account_id, permissions=MANAGER)
    junior = await member(api, owner.account_id, permissions=["users:read"])
    as_manager = bearer(manager["api_key"])

    # Reading a more privileged user stays allowed.
    read = await api.client.get(f"/v1/users/{owner.user_id}", headers=as_manager)
    assert read.status_code == 200, read.text
    # Users holding only what the manager holds can be rotated, updated and deleted.
    rotated = await api.client.post(f"/v1/users/{peer['id']}/rotate-key", headers=as_manager)
    assert rotated.status_code == 201, rotated.text
    new_key = bearer(rotated.json()["data"]["api_key"])
    assert (await get_user(api, peer["id"], new_key))["id"] == peer["id"]
    renamed = await api.client.put(
        f"/v1/users/{junior['id']}", json={"name": "Junior"}, headers=as_manager
    )
    assert renamed.status_code == 200, renamed.text
    deleted = await api.client.delete(f"/v1/users/{junior['id']}", headers=as_manager)
    assert deleted.status_code == 200, deleted.text
    # A user still rotates its own key.
    own = await api.client.post(
        f"/v1/users/{owner.user_id}/rotate-key",
        json={"revoke_existing": False},
        headers=owner.headers,
    )
    assert own.status_code == 201, own.text
    # The admin key manages anyone.
    by_admin = await api.client.post(
        f"/v1/users/{owner.user_id}/rotate-key", json={"revoke_existing": False}, headers=ADMIN
    )
    assert by_admin.status_code == 201, by_admin.text
    assert await key_works(api, by_admin.json()["data"]["api_key"])


# --- authentication -------------------------------------------------------------------------


ADMIN_REFUSED = [
    ("GET", "/v1/invoices"),
    ("GET", "/v1/voice-agents"),
    ("GET", "/v1/callouts?invoice_id=inv_123456789"),
    ("GET", "/v1/users"),
    ("POST", "/v1/invoices"),
]


async def test_admin_key_is_forbidden_outside_user_management(api: Api) -> None:
    for method, path in ADMIN_REFUSED:
        response = await api.client.request(
            method, path, headers=ADMIN, json={} if method == "POST" else None
        )

        assert response.status_code == 403, (method, path, response.text)
        body = assert_error(response, 403, "FORBIDDEN")
        assert "admin key" in body["error"]["message"]


# Each value is sent with a real key of the caller substituted for {key}.
MALFORMED = {
    "no-scheme": "{key}",
    "basic": "Basic dXNlcjpwYXNz",
    "empty": "",
    "scheme-only": "Bearer",
    "scheme-and-space": "Bearer ",
    "other-scheme": "Token {key}",
    "overlong": "Bearer {key}" + "a" * 300,
    "key-plus-one": "Bearer {key}x",
    "trailing-word": "Bearer {key} extra",
}


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", "/v1/invoices", "Invalid or missing API key"),
        ("GET", "/v1/users/{user}", "Invalid or missing API key"),
        ("POST", "/v1/users", "Invalid or missing Credira AI key"),
    ],
    ids=["invoices", "get-user", "create-user"],
)
async def test_malformed_authorization_is_unauthorized(
    api: Api, method: str, path: str, message: str
) -> None:
    tenant = await api.tenant(permissions=EVERY_PERMISSION)
    body = {"email": "x@acme.example.com", "name": "X", "company": "Acme"}

    for name, header in MALFORMED.items():
        response = await api.client.request(
            method,
            path.replace("{user}", tenant.user_id),
            headers={"Authorization": header.replace("{key}", tenant.key)},
            json=body if method == "POST" else None,
        )

        assert response.status_code == 401, (name, response.text)
        assert_error(response, 401, "UNAUTHORIZED", message)
        assert response.headers["WWW-Authenticate"] == "Bearer", name
    assert "x@acme.example.com" not in await account_emails(api, tenant.key)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
async def test_bearer_scheme_is_case_insensitive(api: Api, scheme: str) -> None:
    tenant = await api.tenant()

    response = await api.client.get(
        "/v1/invoices", headers={"Authorization": f"{scheme} {tenant.key}"}
    )

    assert response.status_code == 200, response.text
