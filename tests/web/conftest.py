"""The console in Debian's Chromium: one uvicorn server per session on a SQLite copy of the
golden capture with transcripts, analysis (themes, flags, follow-ups) and the API tests' users.

Tests that change data (reviews) make their own objects, so they do not depend on order.
Screenshots go to docs/screenshots/ at desktop and narrow widths.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from analytics import pipeline
from api import auth
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from telephony.models import Call
from tests.api.conftest import (
    PASSWORD,
    RECORDINGS,
    add_transcripts,
    add_users,
    load_golden,
)
from tests.conftest import CI, PBX_MONITOR_DIR
from transcription.models import Transcript
from web.app import create_console_app

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
NARROW = {"width": 390, "height": 844}
# what the browser may log as an error without the page being wrong
BENIGN_CONSOLE = ("favicon.ico",)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Console:
    """The running console: its URL, bearer tokens of the fixture users, the golden call ids."""

    url: str
    tokens: dict[str, str]
    settings: Settings
    day: str  # the golden capture's day in the hotline's zone (YYYY-MM-DD)
    calls: dict[str, str] = field(default_factory=dict)

    def api(self, user: str, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API as a fixture user (bearer) and return the JSON answer."""
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        response = httpx.request(
            method, f"{self.url}/api/v1{path}", headers=headers, timeout=10, **kwargs
        )
        response.raise_for_status()
        return response.json() if response.content else None


@pytest.fixture(scope="session")
def console(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The console served by uvicorn in a thread on a free port."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if CI:
            pytest.fail(f"{message}, and CI=true requires it")
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("console")
    db = tmp / "console.db"
    shutil.copy(sqlite_template, db)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{db}",
        recording_dir=PBX_MONITOR_DIR,
        recording_path_map=f"{PBX_MONITOR_DIR}={RECORDINGS}",
        broker_url=f"sqla+sqlite:///{tmp}/broker.db",
        review_seed="browser-tests",
    )
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    load_golden(factory, settings)
    with session_scope(factory) as session:
        add_transcripts(session)
        tokens, _ids = add_users(session, auth.hash_password(PASSWORD))
    pipeline.ensure_lexicon(factory)
    with session_scope(factory) as session:
        transcript_ids = list(session.scalars(select(Transcript.id)))
        call_pks = list(session.scalars(select(Call.id)))
        first = session.scalar(select(Call.started_at).order_by(Call.started_at))
    pipeline.analyze_committed_calls(call_pks, session_factory=factory, settings=settings)
    for transcript_id in transcript_ids:
        pipeline.analyze_transcription(transcript_id, session_factory=factory, settings=settings)
    engine.dispose()
    assert first is not None

    app = create_console_app(
        settings, secure_cookies=False, login_limits=auth.LoginLimits(per_username=50, per_ip=200)
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the console server did not start")
        time.sleep(0.05)
    yield Console(url=url, tokens=tokens, settings=settings, day=first.date().isoformat())
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser(console: Console) -> Iterator[Any]:
    """Debian's Chromium, headless, launched by path (Playwright never downloads a browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"],
        )
        yield chromium
        chromium.close()


class ConsoleErrors(list[str]):
    """Console 'error' messages and uncaught page errors seen during a test."""

    def __init__(self) -> None:
        super().__init__()
        self.allowed: list[str] = []

    def allow(self, text: str) -> None:
        """An error the test provokes on purpose (e.g. the 404 of a call it may not see)."""
        self.allowed.append(text)

    def unexpected(self) -> list[str]:
        """The errors no test asked for."""
        return [e for e in self if not any(a in e for a in self.allowed)]


@pytest.fixture
def page_errors() -> ConsoleErrors:
    """The errors every page of the test logged (checked at the end of the test)."""
    return ConsoleErrors()


@pytest.fixture
def new_page(browser: Any, console: Console, page_errors: ConsoleErrors) -> Iterator[Any]:
    """`new_page(locale=..., viewport=...)` gives a fresh context's page that records errors."""
    contexts: list[Any] = []

    def make(locale: str = "en-US", viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(
            locale=locale, viewport=viewport or DESKTOP, base_url=console.url
        )
        context.set_default_timeout(8000)
        contexts.append(context)
        page = context.new_page()

        def on_console(msg: Any) -> None:
            if msg.type == "error" and not any(b in msg.text for b in BENIGN_CONSOLE):
                page_errors.append(f"{page.url}: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: page_errors.append(f"{page.url}: {exc}"))
        return page

    yield make
    for context in contexts:
        context.close()
    unexpected = page_errors.unexpected()
    assert not unexpected, "browser console errors:\n" + "\n".join(unexpected)


def login(page: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the role's home page."""
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page: Any, name: str, *, full_page: bool = False) -> None:
    """Save the page as docs/screenshots/<name>-<desktop|narrow>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    width = page.viewport_size["width"] if page.viewport_size else DESKTOP["width"]
    suffix = "narrow" if width < 800 else "desktop"
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{suffix}.png"), full_page=full_page)
