"""Signing in: cookie flags, CSRF on cookie sessions, bearer tokens, the rate limit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.models import ApiToken, LoginAttempt, WebSession
from core.db import session_scope
from tests.api.conftest import PASSWORD, Api


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in; returns the CSRF token."""
    reply = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["csrf_token"])


def test_login_sets_a_secure_httponly_lax_cookie_by_default(api: Api) -> None:
    app = create_app(api.settings)  # production default: Secure
    with TestClient(app, base_url="https://testserver") as client:
        reply = client.post(
            "/api/v1/auth/login", json={"username": "manager", "password": PASSWORD}
        )
        assert reply.status_code == 200
        cookie = reply.headers["set-cookie"]
        assert cookie.startswith("callscope_session=")
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
        body = reply.json()
        assert body["user"]["username"] == "manager"
        assert "password_hash" not in body["user"]
        me = client.get("/api/v1/auth/me")
        assert me.status_code == 200
        assert me.json()["auth"] == "cookie"
        assert me.json()["csrf_token"] == body["csrf_token"]


def test_the_database_keeps_only_hashes_of_cookies_and_tokens(api: Api) -> None:
    login(api.client, "manager")
    cookie = api.client.cookies["callscope_session"]
    with session_scope(api.session_factory) as session:
        stored = list(session.scalars(select(WebSession.id)))
        hashes = list(session.scalars(select(ApiToken.token_hash)))
    assert cookie not in stored and len(stored) == 1
    assert all(token not in hashes for token in api.tokens.values())


def test_the_demo_can_drop_the_secure_flag(api: Api) -> None:
    reply = api.client.post(
        "/api/v1/auth/login", json={"username": "manager", "password": PASSWORD}
    )
    assert "secure" not in reply.headers["set-cookie"].lower()


def test_cookie_changes_need_the_sessions_csrf_token(api: Api) -> None:
    csrf = login(api.client, "alice")
    assert api.client.get("/api/v1/calls").status_code == 200  # reads need no token
    body = {"name": "wallboard"}
    missing = api.client.post("/api/v1/tokens", json=body)
    wrong = api.client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": "x" + csrf})
    assert missing.status_code == wrong.status_code == 403
    assert "X-CSRF-Token" in missing.json()["detail"]
    right = api.client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert right.status_code == 201, right.text
    # a token of another session does not do either
    other = TestClient(api.app)
    other_csrf = login(other, "alice")
    assert other_csrf != csrf
    crossed = api.client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": other_csrf})
    assert crossed.status_code == 403
    logout = api.client.post("/api/v1/auth/logout")
    assert logout.status_code == 403  # signing out is a change too
    assert api.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert api.client.get("/api/v1/calls").status_code == 401


def test_bearer_tokens_need_no_csrf(api: Api) -> None:
    reply = api.client.post("/api/v1/tokens", json={"name": "script"}, headers=api.as_("bob"))
    assert reply.status_code == 201
    token = reply.json()["token"]
    assert token.startswith("cs_")
    me = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["user"]["username"] == "bob"
    assert me.json()["auth"] == "bearer" and me.json()["csrf_token"] is None


def test_tokens_are_listed_without_secret_and_revoked(api: Api) -> None:
    created = api.client.post("/api/v1/tokens", json={"name": "w"}, headers=api.as_("bob"))
    token, token_id = created.json()["token"], created.json()["id"]
    listed = api.client.get("/api/v1/tokens", headers=api.as_("bob")).json()
    assert {t["name"] for t in listed} == {"tests", "w"}
    assert all("token" not in t for t in listed)
    # someone else's token is not found (not forbidden); an admin can revoke anyone's
    assert (
        api.client.delete(f"/api/v1/tokens/{token_id}", headers=api.as_("alice")).status_code == 404
    )
    assert (
        api.client.delete(f"/api/v1/tokens/{token_id}", headers=api.as_("admin")).status_code == 204
    )
    reply = api.client.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 401
    assert reply.json()["detail"] == "unknown or revoked token"
    with session_scope(api.session_factory) as session:
        row = session.get(ApiToken, token_id)
        assert row is not None and row.revoked_at is not None


def test_malformed_authorization_is_401(api: Api) -> None:
    for header in ("Basic YWxpY2U6eA==", "Bearer", "Bearer cs_nonsense", "Bearer   "):
        reply = api.client.get("/api/v1/calls", headers={"Authorization": header})
        assert reply.status_code == 401, header


def test_wrong_password_and_unknown_user_answer_alike(api: Api) -> None:
    wrong = api.client.post("/api/v1/auth/login", json={"username": "alice", "password": "nope"})
    unknown = api.client.post("/api/v1/auth/login", json={"username": "zed", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong username or password"}


def test_five_failures_lock_the_username_with_retry_after(api: Api) -> None:
    for _ in range(5):
        reply = api.client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": "guess"}
        )
        assert reply.status_code == 401
    # now even the right password is refused, before it is checked
    locked = api.client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    retry = int(locked.headers["retry-after"])
    assert 0 < retry <= 15 * 60
    assert "try again" in locked.json()["detail"]
    # the case of the username does not open a way around it
    other_case = api.client.post(
        "/api/v1/auth/login", json={"username": "ALICE", "password": PASSWORD}
    )
    assert other_case.status_code == 429
    # another user from the same address is still fine (per-address limit is 8 here)
    login(api.client, "bob")


def test_the_address_limit_stops_spraying_many_usernames(api: Api) -> None:
    for i in range(8):
        reply = api.client.post(
            "/api/v1/auth/login", json={"username": f"user{i}", "password": "guess"}
        )
        assert reply.status_code == 401
    reply = api.client.post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORD})
    assert reply.status_code == 429
    assert "address" in reply.json()["detail"]
    with session_scope(api.session_factory) as session:
        attempts = list(session.scalars(select(LoginAttempt)))
    assert len(attempts) == 8 and not any(a.ok for a in attempts)


def test_a_success_resets_the_username_count(api: Api) -> None:
    def fail() -> int:
        reply = api.client.post("/api/v1/auth/login", json={"username": "chen", "password": "x"})
        return reply.status_code

    assert [fail() for _ in range(4)] == [401] * 4
    login(api.client, "chen")
    # without the reset the second of these would be refused (5 failures in the window)
    assert [fail() for _ in range(4)] == [401] * 4
    assert fail() == 429  # now the address limit (8 here) is reached


def test_login_rejects_unknown_fields_and_non_json(api: Api) -> None:
    reply = api.client.post(
        "/api/v1/auth/login",
        json={"username": "alice", "password": PASSWORD, "remember": True},
    )
    assert reply.status_code == 422
    problem = reply.json()["detail"][0]
    assert problem["loc"] == ["body", "remember"]
    assert problem["type"] == "extra_forbidden"
    # a cross-site HTML form cannot send JSON: a form-encoded body is refused
    form = api.client.post("/api/v1/auth/login", data={"username": "alice", "password": PASSWORD})
    assert form.status_code == 422


def test_password_change_ends_the_users_sessions(api: Api) -> None:
    other = TestClient(api.app)
    login(other, "sup_sales")
    assert other.get("/api/v1/calls").status_code == 200
    reply = api.client.patch(
        f"/api/v1/users/{api.user_ids['sup_sales']}",
        json={"password": "a new long password"},
        headers=api.as_("admin"),
    )
    assert reply.status_code == 200
    assert other.get("/api/v1/calls").status_code == 401
    login(other, "sup_sales", "a new long password")
