"""The API's routers, one per domain; `errors()` documents their error answers."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorOut, InvalidOut

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, session ended, or token unknown or revoked",
    403: "Not allowed for this role, or the X-CSRF-Token header is missing or wrong",
    404: "Not found, or not visible to this user",
    409: "Conflicts with what is stored",
    416: "Range not satisfiable",
    422: "Invalid request",
    429: "Too many attempts; see Retry-After",
    503: "A dependency is unavailable",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses, each a `{"detail": "..."}` body."""
    return {
        code: {"model": InvalidOut if code == 422 else ErrorOut, "description": _DESCRIPTIONS[code]}
        for code in codes
    }
