"""`make demo` from a clean copy of the repository: sign in, see transcribed and flagged calls,
then Ctrl-C (SIGINT to the foreground process group) leaves no process behind.

The copy is the working tree (tracked and new files, as a commit of it would hold); the
repository's own virtual environment is reused (`make VENV=...`, marked up to date with
`-o`) so the test does not spend minutes installing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90
RESULTS_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_working_tree(target: Path) -> None:
    """Every file git would commit (tracked or new, not ignored), as it is on disk now."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if not source.is_file():
            continue  # deleted in the working tree
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest, follow_symlinks=False)


def processes_in(directory: Path) -> list[str]:
    """Processes whose working directory or command line is inside `directory`."""
    found = []
    mark = str(directory)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = (entry / "status").read_text().splitlines()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if any(line.startswith("State:") and "zombie" in line for line in status):
            continue
        if cwd.startswith(mark) or mark in cmdline:
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


def calls_seen(client: httpx.Client) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(calls with a finished transcript, calls with flags) among the newest 600."""
    transcribed: list[dict[str, Any]] = []
    flagged: list[dict[str, Any]] = []
    for page in (1, 2, 3):
        response = client.get("/api/v1/calls", params={"page": page, "page_size": 200})
        response.raise_for_status()
        items = response.json()["items"]
        transcribed += [c for c in items if c["transcript_status"] == "done"]
        flagged += [c for c in items if c["flags"]]
        if len(items) < 200:
            break
    return transcribed, flagged


@pytest.mark.slow
def test_make_demo_from_a_clean_copy(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    repo = tmp_path / "callscope"
    copy_working_tree(repo)
    venv = Path(sys.prefix)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLSCOPE_")}
    env.update(DEMO_PORT=str(port), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "demo.log"
    started = time.monotonic()
    make = start_demo(repo, venv, env, log_path)
    try:
        credentials = repo / ".demo" / "credentials.json"
        base = f"http://127.0.0.1:{port}"
        wait_running(make, log_path, credentials)
        passwords = json.loads(credentials.read_text())
        assert {"admin", "manager", "supervisor"} <= set(passwords)
        assert len(passwords) == 5
        output = log_path.read_text()
        assert f"Open {base}/" in output
        assert all(f"{user}" in output and pw in output for user, pw in passwords.items())

        with httpx.Client(base_url=base, timeout=10) as client:
            login = client.post(
                "/api/v1/auth/login",
                json={"username": "manager", "password": passwords["manager"]},
            )
            assert login.status_code == 200, login.text
            deadline = started + RESULTS_TIMEOUT_S
            transcribed: list[dict[str, Any]] = []
            flagged: list[dict[str, Any]] = []
            while time.monotonic() < deadline and not (transcribed and flagged):
                transcribed, flagged = calls_seen(client)
                time.sleep(2)
            assert transcribed, "no call with a transcript within two minutes"
            assert flagged, "no flagged call within two minutes"
            live = client.get("/api/v1/live")
            assert live.status_code == 200 and live.json()["connected"] is True
            # an agent signs in too, linked to a name that answers calls in the demo day
            agent = next(u for u in passwords if u not in ("admin", "manager", "supervisor"))
        with httpx.Client(base_url=base, timeout=10) as client:
            login = client.post(
                "/api/v1/auth/login", json={"username": agent, "password": passwords[agent]}
            )
            assert login.status_code == 200, login.text
            mine = client.get("/api/v1/calls").json()["items"]
            assert mine, "the demo agent sees calls"
    finally:
        stop_demo(make)
    output = log_path.read_text()
    assert "stopped" in output, output
    assert_nothing_left(repo, output)

    # again: the same database, days and logins
    log_path = tmp_path / "demo-again.log"
    make = start_demo(repo, venv, env, log_path)
    try:
        wait_running(make, log_path, credentials)
        assert "building yesterday" not in log_path.read_text()
        assert json.loads(credentials.read_text()) == passwords
        with httpx.Client(base_url=base, timeout=10) as client:
            login = client.post(
                "/api/v1/auth/login", json={"username": agent, "password": passwords[agent]}
            )
            assert login.status_code == 200, login.text
    finally:
        stop_demo(make)
    assert_nothing_left(repo, log_path.read_text())


def start_demo(
    repo: Path, venv: Path, env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            ["make", "demo", f"VENV={venv}", "-o", f"{venv}/.installed"],
            cwd=repo,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own foreground group, as in a terminal
        )


def wait_running(make: subprocess.Popen[bytes], log_path: Path, credentials: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        assert make.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "no web app in time:\n" + log_path.read_text()
        if credentials.exists() and "callscope demo is running" in log_path.read_text():
            return
        time.sleep(0.5)


def stop_demo(make: subprocess.Popen[bytes]) -> None:
    """Ctrl-C in the terminal: SIGINT to the foreground process group."""
    if make.poll() is None:
        os.killpg(make.pid, signal.SIGINT)
    try:
        make.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(make.pid, signal.SIGKILL)
        raise


def assert_nothing_left(repo: Path, output: str) -> None:
    deadline = time.monotonic() + 10
    while processes_in(repo) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_in(repo) == [], output
