"""Passwords, web sessions, personal tokens and the sign-in rate limit.

- Passwords: argon2id through pwdlib's recommended hasher; an unknown username still costs one
  verification, so response times do not tell which usernames exist.
- Web sessions: the cookie holds 32 random bytes; the database keeps only their SHA-256 (a
  leaked table opens no session) and a per-session CSRF token that every state-changing
  request authenticated by the cookie must echo in `X-CSRF-Token`.
- Personal tokens: `cs_` + 32 random bytes, shown once; stored as SHA-256.
- Sign-in rate limit: failures per username (since its last success) and per client address
  within a window; over the limit the answer is 429 with Retry-After, before any password check.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from pwdlib import PasswordHash
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.errors import RateLimited
from api.models import ApiToken, LoginAttempt, User, WebSession
from core.db import utcnow

SESSION_COOKIE = "callscope_session"
CSRF_HEADER = "X-CSRF-Token"
TOKEN_PREFIX = "cs_"
# refresh a token's last_used_at at most this often (not a write on every request)
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
ATTEMPTS_KEPT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many failed sign-ins are allowed in `window` per username and per address.

    The per-address limit is higher because a call-center floor often shares one NAT address.
    """

    per_username: int = 5
    per_ip: int = 20
    window: timedelta = timedelta(minutes=15)


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash of a password."""
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when `password` matches; with no hash, spends the same time and says False."""
    if password_hash is None:
        _hasher().verify(password, _dummy_hash())
        return False
    try:
        return _hasher().verify(password, password_hash)
    except Exception:  # a corrupt stored hash must not let anyone in, nor crash the sign-in
        return False


def digest(secret: str) -> str:
    """SHA-256 hex of a session cookie or token: what the database stores instead."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_password() -> str:
    """A strong random password (about 120 bits) for a user created without one."""
    return secrets.token_urlsafe(15)


# --- sign-in rate limit -------------------------------------------------------------------


def _limit_key(username: str) -> str:
    return username.strip().lower()[:100]


def check_login_allowed(
    *, db_session: Session, username: str, ip: str, limits: LoginLimits, now: datetime | None = None
) -> None:
    """Raise RateLimited when this username or this address failed too often lately."""
    now = now or utcnow()
    since = now - limits.window
    key = _limit_key(username)
    last_ok = db_session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == key, LoginAttempt.ok.is_(True), LoginAttempt.at >= since
        )
    )
    user_since = max(since, last_ok) if last_ok else since
    checks = (
        (LoginAttempt.username == key, user_since, limits.per_username, "this username"),
        (LoginAttempt.ip == ip, since, limits.per_ip, "this address"),
    )
    for condition, start, limit, who in checks:
        failures = list(
            db_session.scalars(
                select(LoginAttempt.at)
                .where(condition, LoginAttempt.ok.is_(False), LoginAttempt.at > start)
                .order_by(LoginAttempt.at.desc())
                .limit(limit)
            )
        )
        if len(failures) >= limit:
            # allowed again once the oldest of the last `limit` failures leaves the window
            retry = failures[-1] + limits.window - now
            retry_s = max(1, math.ceil(retry.total_seconds()))
            raise RateLimited(
                f"too many failed sign-ins for {who}; try again in {retry_s} s",
                retry_after_s=retry_s,
            )


def record_login_attempt(*, db_session: Session, username: str, ip: str, ok: bool) -> None:
    """Remember one sign-in try (and forget tries older than a day)."""
    now = utcnow()
    db_session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - ATTEMPTS_KEPT))
    db_session.add(LoginAttempt(username=_limit_key(username), ip=ip[:64], at=now, ok=ok))
    db_session.flush()


def authenticate(*, db_session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else None (same cost either way)."""
    user = db_session.scalar(select(User).where(User.username == username))
    ok = verify_password(password, user.password_hash if user is not None else None)
    if user is None or not ok or not user.active:
        return None
    return user


# --- web sessions --------------------------------------------------------------------------


def create_session(*, db_session: Session, user: User, ttl: timedelta) -> tuple[str, WebSession]:
    """A new web session: (cookie value, stored session). Expired sessions are swept."""
    now = utcnow()
    db_session.execute(delete(WebSession).where(WebSession.expires_at < now))
    cookie = secrets.token_urlsafe(32)
    web_session = WebSession(
        id=digest(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=now + ttl,
        created_at=now,
    )
    db_session.add(web_session)
    db_session.flush()
    return cookie, web_session


def session_for_cookie(*, db_session: Session, cookie: str) -> WebSession | None:
    """The live session of an active user this cookie opens, else None."""
    if not cookie or len(cookie) > 200:
        return None
    web_session = db_session.get(WebSession, digest(cookie))
    if web_session is None or web_session.expires_at <= utcnow() or not web_session.user.active:
        return None
    return web_session


def end_sessions(*, db_session: Session, user_id: int) -> None:
    """Sign a user out everywhere (after a password change or deactivation)."""
    db_session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    db_session.flush()


def csrf_matches(web_session: WebSession, header: str | None) -> bool:
    """True when the request's X-CSRF-Token header is this session's token."""
    return bool(header) and secrets.compare_digest(
        web_session.csrf_token.encode(), (header or "").encode()
    )


# --- personal tokens -----------------------------------------------------------------------


def create_token(*, db_session: Session, user: User, name: str) -> tuple[str, ApiToken]:
    """A new personal token: (the token, shown once; the stored row)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=digest(token), created_at=utcnow())
    db_session.add(row)
    db_session.flush()
    return token, row


def token_for_bearer(*, db_session: Session, token: str) -> ApiToken | None:
    """The unrevoked token of an active user this bearer value is, else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = db_session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_INTERVAL:
        row.last_used_at = now
    return row
