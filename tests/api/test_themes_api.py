"""Lexicon versions through the API: list, read, create from edited content, add phrases,
activate, try a sentence (same JSON as `callscope analyze-text`); a call's themes and flags."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from api.models import AuditEntry
from cli.analytics import analyze_text
from core.db import session_scope
from tests.api.conftest import SCENARIOS, Api, post

SENTENCE = "The brakes failed again and you overcharged me"


def analyze_text_json(lang: str, text: str) -> object:
    result = CliRunner().invoke(analyze_text, ["--lang", lang, text])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def lexicon_audit(api: Api) -> list[tuple[str, str | None]]:
    with session_scope(api.session_factory) as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("lexicon.%")).order_by(AuditEntry.id)
        )
        return [(e.action, e.object_id) for e in rows]


def test_sentence_test_answers_like_analyze_text(api: Api) -> None:
    reply = post(api, "sup_hotline", "/api/v1/lexicon/test", {"lang": "en", "text": SENTENCE})
    assert reply.status_code == 200, reply.text
    assert reply.json() == analyze_text_json("en", SENTENCE)
    assert {t["theme"] for t in reply.json()["themes"]} >= {"safety", "pricing"}
    zh = "刹车又坏了"
    assert post(api, "alice", "/api/v1/lexicon/test", {"lang": "zh", "text": zh}).json() == (
        analyze_text_json("zh", zh)
    )
    assert (
        post(api, "alice", "/api/v1/lexicon/test", {"lang": "fr", "text": "x"}).status_code == 422
    )
    missing = post(api, "alice", "/api/v1/lexicon/test", {"text": "x", "version": 99})
    assert missing.status_code == 404


def test_create_activate_and_add_phrases_make_versions(api: Api) -> None:
    versions = api.get("alice", "/api/v1/lexicon/versions").json()
    assert [(v["version"], v["active"]) for v in versions] == [(1, True)]
    content = api.get("alice", "/api/v1/lexicon/versions/1").json()["content"]

    # a theme for a new complaint, from edited content; only lexicon admins may store it
    content["themes"].append(
        {
            "id": "noise",
            "labels": {"en": "Noise", "zh": "异响", "ko": "소음"},
            "phrases": {"en": ["rattling noise"]},
        }
    )
    body = {"content": content, "note": "noise complaints"}
    assert post(api, "manager", "/api/v1/lexicon/versions", body).status_code == 403
    created = post(api, "admin", "/api/v1/lexicon/versions", body)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 2 and created.json()["active"] is True
    found = post(api, "alice", "/api/v1/lexicon/test", {"lang": "en", "text": "a rattling noise"})
    assert [t["theme"] for t in found.json()["themes"]] == ["noise"]

    # an invalid edit names the theme and field, and stores nothing
    broken = {"content": {**content, "themes": [{"id": "Bad Id", "labels": {}}]}}
    refused = post(api, "admin", "/api/v1/lexicon/versions", broken)
    assert refused.status_code == 422 and "id" in refused.json()["detail"]

    # phrases per language: a new active version
    phrase = {"theme": "noise", "lang": "ko", "phrases": ["덜컹거리는 소리"]}
    added = post(api, "admin", "/api/v1/lexicon/phrases", phrase)
    assert added.status_code == 201, added.text
    assert added.json()["version"] == 3
    ko = post(
        api, "alice", "/api/v1/lexicon/test", {"lang": "ko", "text": "덜컹거리는 소리가 나요"}
    )
    assert [t["theme"] for t in ko.json()["themes"]] == ["noise"]
    assert post(api, "admin", "/api/v1/lexicon/phrases", phrase).status_code == 409
    unknown = post(api, "admin", "/api/v1/lexicon/phrases", {**phrase, "theme": "weather"})
    assert unknown.status_code == 404

    # back to version 1: the new theme is gone from live matching, not from storage
    back = post(api, "admin", "/api/v1/lexicon/versions/1/activate")
    assert back.status_code == 200 and back.json()["active"] is True
    gone = post(api, "alice", "/api/v1/lexicon/test", {"lang": "en", "text": "a rattling noise"})
    assert gone.json()["themes"] == []
    old = {"lang": "en", "text": "a rattling noise", "version": 2}
    assert post(api, "alice", "/api/v1/lexicon/test", old).json()["themes"][0]["theme"] == "noise"
    listed = api.get("alice", "/api/v1/lexicon/versions").json()
    assert [(v["version"], v["active"]) for v in listed] == [(1, True), (2, False), (3, False)]
    assert post(api, "admin", "/api/v1/lexicon/versions/9/activate").status_code == 404

    assert lexicon_audit(api) == [
        ("lexicon.create", "2"),
        ("lexicon.add_phrases", "3"),
        ("lexicon.activate", "1"),
    ]


def test_yaml_round_trip_and_inactive_create(api: Api) -> None:
    text = api.get("admin", "/api/v1/lexicon/versions/1/export.yaml").text
    assert text.startswith("# callscope complaint-theme lexicon, version 1")
    stored = post(
        api, "admin", "/api/v1/lexicon/versions", {"yaml": text, "activate": False, "note": "copy"}
    )
    assert stored.status_code == 201, stored.text
    assert stored.json()["version"] == 2 and stored.json()["active"] is False
    assert stored.json()["fingerprint"] != ""
    active = [
        v["version"] for v in api.get("admin", "/api/v1/lexicon/versions").json() if v["active"]
    ]
    assert active == [1]
    bad_yaml = post(api, "admin", "/api/v1/lexicon/versions", {"yaml": "themes: [: nope"})
    assert bad_yaml.status_code == 422
    both = post(api, "admin", "/api/v1/lexicon/versions", {"yaml": text, "content": {}})
    assert both.status_code == 422


def test_a_calls_themes_and_flags_follow_the_call_access(analysed: Api) -> None:
    api = analysed
    call_id = SCENARIOS["answered-1s-complaint"]
    themes = api.get("alice", f"/api/v1/calls/{call_id}/themes")
    assert themes.status_code == 200
    body = themes.json()
    assert [t["theme"] for t in body["themes"]] == ["safety"]
    match = body["matches"][0]
    assert match["text"] == "brakes squeal" and match["speaker"] == "customer"
    assert match["time_s"] is not None and match["end"] - match["start"] == len(match["text"])
    flags = api.get("alice", f"/api/v1/calls/{call_id}/flags").json()
    assert flags[0]["rule"] == "theme:safety" and flags[0]["severity"] == "critical"
    for url in (f"/api/v1/calls/{call_id}/themes", f"/api/v1/calls/{call_id}/flags"):
        assert api.get("bob", url).status_code == 404
        assert api.get("sup_sales", url).status_code == 404

    listed = api.get("sup_sales", "/api/v1/flags").json()["items"]
    assert listed and {i["queue"] for i in listed} == {"sales"}
    critical = api.get("manager", "/api/v1/flags", params={"severity": "critical"}).json()
    assert {i["call_id"] for i in critical["items"]} == {
        call_id,
        SCENARIOS["ring-no-answer-then-next"],
    }
    assert api.get("chen", "/api/v1/flags", params={"rule": "theme:safety"}).json()["total"] == 0
