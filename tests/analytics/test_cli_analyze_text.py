"""`callscope analyze-text`: one text, or JSON lines on stdin, as JSON out."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from analytics.lexicon import lexicon_to_dict, load_lexicon
from cli.main import cli


def run(args: list[str], stdin: str | None = None) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(cli, ["analyze-text", *args], input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines, result.stderr


def test_single_text_prints_themes_with_offsets_in_that_text() -> None:
    text = "服務態度很差，我要投訴！"
    code, [out], _ = run(["--lang", "zh", text])
    assert code == 0
    by_theme = {t["theme"]: t for t in out["themes"]}
    assert set(by_theme) == {"service_attitude", "escalation"}
    # Best score first (escalation outweighs a single attitude remark).
    assert [t["theme"] for t in out["themes"]] == ["escalation", "service_attitude"]
    for theme in out["themes"]:
        assert isinstance(theme["score"], float)
        for m in theme["matches"]:
            assert set(m) == {"text", "start", "end"}
            assert text[m["start"] : m["end"]] == m["text"]
    assert by_theme["service_attitude"]["matches"][0]["text"] == "服務態度很差"


def test_neutral_text_prints_no_themes() -> None:
    code, [out], _ = run(["--lang", "en", "I would like to book a service for Tuesday."])
    assert code == 0
    assert out == {"themes": []}


def test_stdin_lines_in_order_with_errors_per_line() -> None:
    stdin = "\n".join(
        [
            json.dumps({"lang": "en", "text": "He was very rude. I want a refund."}),
            "this is not json",
            json.dumps({"lang": "ko", "text": "바가지 씌우지 마세요, 견적보다 비싸요"}),
            json.dumps({"lang": "fr", "text": "trop cher"}),
            json.dumps({"text": "没有乱收费"}),
            json.dumps({"lang": "zh", "text": 42}),
            "",
            json.dumps({"lang": "zh-Hant", "text": "零件還沒到，等了一個月"}),
        ]
    )
    code, lines, stderr = run(["--lang", "zh"], stdin)
    assert code != 0
    assert "3 of 7" in stderr
    assert len(lines) == 7  # the blank line is skipped
    assert {t["theme"] for t in lines[0]["themes"]} == {"service_attitude", "escalation"}
    assert lines[1]["error"].startswith("line 2: not JSON")
    assert {t["theme"] for t in lines[2]["themes"]} == {"pricing"}
    assert "line 4" in lines[3]["error"] and "'fr'" in lines[3]["error"]
    assert lines[4] == {"themes": []}  # lang from --lang; a denial
    assert "line 6" in lines[5]["error"] and '"text"' in lines[5]["error"]
    assert [t["theme"] for t in lines[6]["themes"]] == ["long_wait"]


def test_stdin_all_good_exits_zero() -> None:
    stdin = json.dumps({"lang": "en", "text": "Nobody called me back"}) + "\n"
    code, [out], _ = run([], stdin)
    assert code == 0
    assert out["themes"][0]["theme"] == "no_callback"


def test_lexicon_option_tries_another_file(tmp_path: Path) -> None:
    data = lexicon_to_dict(load_lexicon())
    pricing = next(t for t in data["themes"] if t["id"] == "pricing")
    pricing["phrases"]["en"].append("daylight robbery")
    path = tmp_path / "lexicon.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    text = "That bill is daylight robbery"
    code, [out], _ = run(["--lang", "en", "--lexicon", str(path), text])
    assert code == 0
    assert out["themes"][0]["matches"] == [{"text": "daylight robbery", "start": 13, "end": 29}]
    code, [out], _ = run(["--lang", "en", text])
    assert out == {"themes": []}


def test_bad_lexicon_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nthemes:\n  - id: pricing\n    weight: 0\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["analyze-text", "--lexicon", str(path), "--lang", "en", "x"])
    assert result.exit_code == 2
    assert "pricing" in result.stderr and "--lexicon" in result.stderr
