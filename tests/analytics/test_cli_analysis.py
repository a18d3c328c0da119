"""The analysis commands on the golden calls: themes versions, analyze, follow-ups, review queue.

The commands are registered on a fresh group here (`cli.main` lists the modules it loads).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session, sessionmaker

import cli.common
import core.settings
from analytics import followups
from analytics.errors import FollowUpError, LexiconError
from cli.analysis import after_connector_commit, register
from core.db import session_scope


@pytest.fixture
def callscope(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[click.Group]:
    """A `callscope` group with the analysis commands, pointed at the test's database."""
    monkeypatch.setenv("CALLSCOPE_DATABASE_URL", db_url)
    monkeypatch.delenv("CALLSCOPE_REVIEW_SEED", raising=False)
    core.settings.get_settings.cache_clear()
    cli.common.engine.cache_clear()

    @click.group()
    def group() -> None:
        """callscope"""

    register(group)
    yield group
    cli.common.engine().dispose()
    core.settings.get_settings.cache_clear()
    cli.common.engine.cache_clear()


def run(group: click.Group, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(group, list(args))
    assert result.exit_code == code, result.output
    return result


def test_themes_export_import_versions_activate(callscope: click.Group, tmp_path: Path) -> None:
    exported = tmp_path / "lexicon.yaml"
    assert "lexicon version 1 written" in run(callscope, "themes", "export", str(exported)).output
    data = yaml.safe_load(exported.read_text(encoding="utf-8"))
    data["themes"] = [t for t in data["themes"] if t["id"] != "upsell"]
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = run(callscope, "themes", "import", str(edited), "--note", "drop upsell", "--by", "qa")
    assert "lexicon version 2 is now active (9 themes)" in out.output
    lines = run(callscope, "themes", "versions").output.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("    1 ") and lines[1].startswith("*   2 ")
    assert lines[1].endswith("qa  drop upsell")
    # a broken file: the message names the theme and the field, and nothing is stored
    data["themes"][0]["weight"] = "heavy"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bad = CliRunner().invoke(callscope, ["themes", "import", str(edited)])
    assert isinstance(bad.exception, LexiconError)  # `callscope` prints it and exits 2
    assert "theme 'service_attitude', field 'weight': must be a number above 0" in str(
        bad.exception
    )
    assert len(run(callscope, "themes", "versions").output.splitlines()) == 2
    run(callscope, "themes", "activate", "1")
    assert run(callscope, "themes", "versions").output.splitlines()[0].startswith("*   1 ")


@pytest.mark.usefixtures("golden_calls")
def test_analyze_all_then_follow_ups_list_close_and_rate(callscope: click.Group) -> None:
    run(callscope, "analyze", code=2)  # neither --call nor --all
    out = run(callscope, "analyze", "--all").output
    # no transcripts yet: 1340 waited 25 s, past the 15 s target; 1300 was answered on ring 5;
    # the three abandons need a callback
    assert out.strip() == (
        "13 calls analysed: 0 with complaint themes, 2 flagged, 3 follow-ups open"
    )
    one = json.loads(run(callscope, "analyze", "--call", "1795332088.1340").output)
    assert [f["rule"] for f in one["flags"]] == ["abandoned_after_target"]
    assert one["followup"]["reason"] == "abandoned after 25 s" and one["themes"] is None
    assert "no call with id 'nope'" in run(callscope, "analyze", "--call", "nope", code=2).output

    listed = json.loads(run(callscope, "followups", "list", "--open", "--format", "json").output)
    assert sorted(item["call_id"] for item in listed) == [
        "1795331957.1306",
        "1795332011.1320",
        "1795332088.1340",
    ]
    for item in listed:  # due a day after the capture (2026-11-22): overdue once that passed
        due = datetime.fromisoformat(item["due_at"])
        assert item["status"] == ("overdue" if datetime.now(UTC) > due else "open")
    out = run(callscope, "followups", "close", "1795332011.1320", "--note", "called", "--by", "mia")
    assert out.output.startswith("follow-up of 1795332011.1320 closed")
    again = CliRunner().invoke(callscope, ["followups", "close", "1795332011.1320", "--note", "x"])
    assert isinstance(again.exception, FollowUpError)
    assert "already closed" in str(again.exception)
    assert (
        len(json.loads(run(callscope, "followups", "list", "--open", "--format", "json").output))
        == 2
    )
    text = run(callscope, "followups", "list").output
    assert "done     due 2026-11-23T07:20  1795332011.1320" in text and "closed by mia" in text

    rate = json.loads(run(callscope, "followups", "rate", "--by", "queue").output)
    rows = {row["group"]: row for row in rate["rows"]}
    assert rows[None]["closed"] == 1 and rows[None]["opened"] == 1
    for queue in ("hotline", "sales"):
        assert rows[queue]["closed"] == 0
        assert rows[queue]["overdue"] + rows[queue]["open_not_due"] == 1


@pytest.mark.usefixtures("golden_calls")
def test_review_queue_build_is_reproducible(
    callscope: click.Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(callscope, "analyze", "--all")
    missing = run(callscope, "review-queue", "build", "--day", "2026-11-22", code=2)
    assert "--seed" in missing.output
    first = run(
        callscope, "review-queue", "build", "--day", "2026-11-22", "--seed", "s", "--per-agent", "1"
    )
    # four agents answered inbound calls: one each; the abandon past target is flagged, and so
    # is Bob's late answer unless it was his one sampled call
    summary = first.output.splitlines()[-1]
    assert summary.startswith("6 calls to review on 2026-11-22: 4 sampled, 2 flagged") or (
        summary.startswith("5 calls to review on 2026-11-22: 4 sampled, 1 flagged")
    )
    monkeypatch.setenv("CALLSCOPE_REVIEW_SEED", "s")
    core.settings.get_settings.cache_clear()
    second = run(callscope, "review-queue", "build", "--day", "2026-11-22", "--per-agent", "1")
    assert second.output == first.output
    shown = run(callscope, "review-queue", "show", "--day", "2026-11-22").output
    assert shown.splitlines() == first.output.splitlines()[:-1]
    all_of_them = run(callscope, "review-queue", "build", "--day", "2026-11-22", "--seed", "s")
    assert all_of_them.output.splitlines()[-1] == (
        "11 calls to review on 2026-11-22: 10 sampled, 1 flagged"
    )


def test_the_connector_hook_flags_committed_calls(
    callscope: click.Group, golden_calls: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    after_connector_commit(list(golden_calls.values()))
    with session_scope(session_factory) as session:
        assert len(followups.list_followups(db_session=session, status="open")) == 3
