"""The console's pages: server-rendered shells that the page's script fills from /api/v1.

A page route only checks that someone is signed in and may open that kind of page; what data
they see is decided by the API on every request, as for any other client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api import auth
from api.deps import get_state
from web import i18n

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)

ROLE_HOME = {"agent": "/me", "supervisor": "/queue", "manager": "/dashboard", "admin": "/admin"}
ALL_ROLES = frozenset(ROLE_HOME)
STAFF = frozenset({"supervisor", "manager", "admin"})


@dataclass(frozen=True, slots=True)
class Page:
    """A console page: its template, the nav key of its title, and who may open it."""

    name: str
    path: str
    title: str
    roles: frozenset[str]
    in_nav: bool = True


PAGES: tuple[Page, ...] = (
    Page("agent", "/me", "nav.agent", frozenset({"agent"})),
    Page("queue", "/queue", "nav.queue", STAFF),
    Page("calls", "/calls", "nav.calls", ALL_ROLES),
    Page("callbacks", "/callbacks", "nav.callbacks", ALL_ROLES),
    Page("dashboard", "/dashboard", "nav.dashboard", STAFF),
    Page("themes", "/themes", "nav.themes", STAFF),
    Page("satisfaction", "/satisfaction", "nav.satisfaction", STAFF),
    Page("wallboard", "/wallboard", "nav.wallboard", ALL_ROLES),
    Page("admin", "/admin", "nav.admin", frozenset({"admin"})),
    Page("call", "/calls/{call_id}", "call.title", ALL_ROLES, in_nav=False),
)
BY_NAME = {page.name: page for page in PAGES}


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user as a page needs them."""

    username: str
    role: str
    agent_name: str | None
    queues: list[str]
    csrf_token: str


def current_viewer(request: Request) -> Viewer | None:
    """The user whose session cookie came with the request, or None."""
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if not cookie:
        return None
    state = get_state(request)
    with state.session_factory() as db_session:
        web_session = auth.session_for_cookie(db_session=db_session, cookie=cookie)
        if web_session is None:
            return None
        user = web_session.user
        return Viewer(
            username=user.username,
            role=user.role,
            agent_name=user.agent_name,
            queues=list(user.queues or []),
            csrf_token=web_session.csrf_token,
        )


def language(request: Request) -> i18n.Language:
    """The page's language: the user's pick (cookie) or the browser's."""
    return i18n.pick(request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language"))


def _render(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None,
    page: Page | None,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = language(request)
    messages = i18n.messages(lang.code)
    settings = get_state(request).settings
    nav = [p for p in PAGES if p.in_nav and viewer is not None and viewer.role in p.roles]
    config = {
        "lang": lang.code,
        "locale": lang.locale,
        "timezone": settings.timezone,
        "target_rings": settings.answer_target_rings,
        "ring_cycle_s": settings.ring_cycle_s,
        "user": None
        if viewer is None
        else {
            "username": viewer.username,
            "role": viewer.role,
            "agent_name": viewer.agent_name,
            "queues": viewer.queues,
        },
        "page": page.name if page else "login",
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": messages,
            "lang": lang,
            "languages": i18n.LANGUAGES,
            "viewer": viewer,
            "page": page,
            "nav": nav,
            "config_json": json.dumps(config, ensure_ascii=False),
            "messages_json": json.dumps(messages, ensure_ascii=False),
            "config_target_rings": settings.answer_target_rings,
            **(context or {}),
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _safe_next(target: str | None) -> str:
    """A local path to go back to after signing in (never another site)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _page(request: Request, name: str, context: dict[str, Any] | None = None) -> Response:
    page = BY_NAME[name]
    viewer = current_viewer(request)
    if viewer is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    if viewer.role not in page.roles:
        return _render(request, "forbidden.html", viewer=viewer, page=page, status_code=403)
    return _render(request, f"{name}.html", viewer=viewer, page=page, context=context)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    """Each role's home page."""
    viewer = current_viewer(request)
    if viewer is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(ROLE_HOME.get(viewer.role, "/calls"), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    """The sign-in form (it posts to /api/v1/auth/login)."""
    viewer = current_viewer(request)
    if viewer is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _render(
        request, "login.html", viewer=None, page=None, context={"next": _safe_next(next)}
    )


@router.post("/lang")
def set_language(
    request: Request,
    lang: Annotated[str, Form(max_length=8)],
    back: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Keep the user's language in a cookie and go back to the page they were on."""
    response = RedirectResponse(_safe_next(back), status_code=303)
    if lang in i18n.BY_CODE:
        response.set_cookie(
            i18n.LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            path="/",
            samesite="lax",
            secure=get_state(request).secure_cookies,
        )
    return response


@router.get("/me", response_class=HTMLResponse)
def agent_home(request: Request) -> Response:
    """An agent's own calls, rate, reviews and follow-ups."""
    return _page(request, "agent")


@router.get("/queue", response_class=HTMLResponse)
def review_queue(request: Request) -> Response:
    """The QA review queue: flagged and sampled calls."""
    return _page(request, "queue")


@router.get("/calls", response_class=HTMLResponse)
def calls_page(request: Request) -> Response:
    """Every call the user may see, with filters and search."""
    return _page(request, "calls")


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(
    request: Request,
    call_id: Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[!-~]+$")],
) -> Response:
    """One call: player, waveform, transcript, facts, flags, scorecard."""
    return _page(request, "call", {"call_id": call_id})


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    """The compliance dashboard."""
    return _page(request, "dashboard")


@router.get("/themes", response_class=HTMLResponse)
def themes_page(request: Request) -> Response:
    """Complaint themes: trends, rising phrases, transcript search."""
    return _page(request, "themes")


@router.get("/wallboard", response_class=HTMLResponse)
def wallboard(request: Request) -> Response:
    """The hotline room's live board."""
    return _page(request, "wallboard")


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request) -> Response:
    """Users, lexicon, flag rules, queues, QA forms."""
    return _page(request, "admin")


@router.get("/callbacks", response_class=HTMLResponse)
def callbacks_page(request: Request) -> Response:
    """Customers to call back: the judged call's facts and the survey form."""
    return _page(request, "callbacks")


@router.get("/satisfaction", response_class=HTMLResponse)
def satisfaction_page(request: Request) -> Response:
    """The satisfaction index by agent, queue and period, and what drives it."""
    return _page(request, "satisfaction")
