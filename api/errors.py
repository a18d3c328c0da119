"""Errors the API answers with; each becomes `{"detail": "..."}` with its HTTP status.

ApiError (CallscopeError)
 +-- Unauthorized          401  not signed in, session expired, token unknown or revoked
 +-- Forbidden             403  signed in but not allowed (role, missing CSRF header)
 +-- NotFound              404  no such object, or one this user may not see
 +-- Conflict              409  a username already taken, ...
 +-- RangeNotSatisfiable   416  a recording byte range outside the file or malformed
 +-- InvalidRequest        422  a value the schema allows but the request cannot use
 +-- RateLimited           429  too many failed sign-ins; retry after `retry_after_s`
"""

from __future__ import annotations

from core.errors import CallscopeError


class ApiError(CallscopeError):
    """Base of the errors an endpoint answers with."""

    status_code = 400

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class Unauthorized(ApiError):
    """Authentication is missing or no longer valid."""

    status_code = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    """The user is known but may not do this."""

    status_code = 403


class NotFound(ApiError):
    """No such object, or one the user may not see (the two are never told apart)."""

    status_code = 404


class Conflict(ApiError):
    """The change clashes with what is stored."""

    status_code = 409


class RangeNotSatisfiable(ApiError):
    """A Range header the file cannot serve."""

    status_code = 416

    def __init__(self, detail: str, *, size: int) -> None:
        super().__init__(detail, headers={"Content-Range": f"bytes */{size}"})


class InvalidRequest(ApiError):
    """A well-formed request this user or this data cannot use."""

    status_code = 422


class RateLimited(ApiError):
    """Too many attempts; the Retry-After header says when to try again."""

    status_code = 429

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s
