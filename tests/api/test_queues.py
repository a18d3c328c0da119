"""Per-queue ring policy: read by everyone, changed by admins (API, audited) and the CLI."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from api.models import AuditEntry
from core.db import session_scope
from tests.api.conftest import Api


def patch(api: Api, user: str, name: str, body: dict[str, Any]) -> Any:
    return api.client.patch(f"/api/v1/queues/{name}", json=body, headers=api.as_(user))


def test_everyone_reads_the_policy_in_force(api: Api) -> None:
    queues = {q["name"]: q for q in api.get("alice", "/api/v1/queues").json()}
    assert set(queues) == {"hotline", "sales"}
    hotline = queues["hotline"]
    assert hotline["ring_cycle_s"] is None and hotline["effective_ring_cycle_s"] == 5.0
    assert hotline["effective_target_rings"] == 3 and hotline["effective_target_s"] == 15.0


def test_an_admin_changes_a_queue_and_the_report_follows(api: Api) -> None:
    def hotline_within() -> int:
        report = api.get("manager", "/api/v1/reports/compliance", params={"by": "queue"}).json()
        return next(r for r in report["rows"] if r["group"] == "hotline")["answered_within_target"]

    before = hotline_within()
    reply = patch(api, "admin", "hotline", {"ring_cycle_s": 3.0, "language": "ko"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["ring_cycle_s"], body["effective_target_s"], body["language"]) == (3.0, 9.0, "ko")
    # 13 s in the hotline queue was the third 5 s ring; it is the fifth 3 s ring
    assert hotline_within() < before
    # null returns a field to the global setting; fields left out stay
    back = patch(api, "admin", "hotline", {"ring_cycle_s": None}).json()
    assert back["ring_cycle_s"] is None and back["language"] == "ko"
    assert hotline_within() == before
    with session_scope(api.session_factory) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "queue.update").order_by(AuditEntry.id)
        ).all()
        assert [e.detail for e in entries] == [
            {"queue": "hotline", "ring_cycle_s": 3.0, "language": "ko"},
            {"queue": "hotline", "ring_cycle_s": None},
        ]
        assert {e.username for e in entries} == {"admin"}


@pytest.mark.parametrize(
    ("user", "name", "body", "status"),
    [
        ("manager", "hotline", {"ring_cycle_s": 3.0}, 403),
        ("sup_hotline", "hotline", {"answer_target_rings": 2}, 403),
        ("admin", "no-such-queue", {"answer_target_rings": 2}, 404),
        ("admin", "hotline", {"ring_cycle_s": 0}, 422),
        ("admin", "hotline", {"answer_target_rings": 0}, 422),
        ("admin", "hotline", {"language": "fr"}, 422),
        ("admin", "hotline", {"retention_days": -1}, 422),
        ("admin", "hotline", {"colour": "red"}, 422),
    ],
)
def test_refusals(api: Api, user: str, name: str, body: dict[str, Any], status: int) -> None:
    assert patch(api, user, name, body).status_code == status


@pytest.mark.usefixtures("cli_env")
def test_cli_queues_set(api: Api) -> None:
    from cli.main import cli as callscope

    ok = CliRunner().invoke(callscope, ["queues", "set", "sales", "--target-rings", "2"])
    assert ok.exit_code == 0, ok.output
    assert "target 2 rings" in ok.output
    sales = next(q for q in api.get("manager", "/api/v1/queues").json() if q["name"] == "sales")
    assert sales["answer_target_rings"] == 2
    bad = CliRunner().invoke(callscope, ["queues", "set", "sales", "--ring-cycle", "0"])
    assert bad.exit_code == 2 and "ring_cycle_s" in bad.output
