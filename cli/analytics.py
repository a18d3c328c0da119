"""`callscope analyze-text`: complaint themes in a text, no database needed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from analytics.matcher import Matcher, ThemeResult


def _result_json(results: list[ThemeResult]) -> dict[str, Any]:
    return {
        "themes": [
            {
                "theme": r.theme,
                "score": r.score,
                "matches": [{"text": m.text, "start": m.start, "end": m.end} for m in r.matches],
            }
            for r in results
        ]
    }


def _echo(obj: dict[str, Any]) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def _line_result(matcher: Matcher, line: str, default_lang: str | None) -> dict[str, Any]:
    """The output object for one stdin line: a result, or {"error": ...} for a bad line."""
    from analytics.errors import MatchInputError

    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"not JSON: {exc.msg} at column {exc.colno}"}
    if not isinstance(item, dict):
        return {"error": 'expected an object like {"lang": "zh", "text": "..."}'}
    text = item.get("text")
    if not isinstance(text, str):
        return {"error": '"text" is missing or not a string'}
    lang = item.get("lang", default_lang)
    if lang is not None and not isinstance(lang, str):
        return {"error": '"lang" must be a string such as "zh", "ko" or "en"'}
    try:
        return _result_json(matcher.match_text(text, lang))
    except MatchInputError as exc:
        return {"error": str(exc)}


def _run_lines(matcher: Matcher, stream: TextIO, default_lang: str | None) -> tuple[int, int]:
    total = bad = 0
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if not line:
            continue
        total += 1
        out = _line_result(matcher, line, default_lang)
        if "error" in out:
            bad += 1
            out = {"error": f"line {number}: {out['error']}"}
        _echo(out)
    return total, bad


@click.command("analyze-text")
@click.option(
    "--lang",
    type=click.Choice(["zh", "ko", "en"], case_sensitive=False),
    help="Language of the text (zh covers Traditional too); omitted: phrases of all languages.",
)
@click.option(
    "--lexicon",
    "lexicon_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use this lexicon YAML instead of the default (to try a change).",
)
@click.argument("text", required=False)
def analyze_text(lang: str | None, lexicon_path: Path | None, text: str | None) -> None:
    """Print the complaint themes in TEXT as JSON.

    Without TEXT, reads JSON lines {"lang": ..., "text": ...} from stdin and prints one result
    per line, in order ("lang" defaults to --lang). A line that cannot be read prints
    {"error": ...}; the others are still processed, and the command then exits non-zero.
    """
    from analytics.errors import LexiconError
    from analytics.lexicon import load_lexicon
    from analytics.matcher import Matcher

    try:
        lexicon = load_lexicon(lexicon_path)
    except LexiconError as exc:
        raise click.BadParameter(str(exc), param_hint="--lexicon") from exc
    matcher = Matcher.from_lexicon(lexicon)
    lang = lang.lower() if lang else None
    if text is not None:
        _echo(_result_json(matcher.match_text(text, lang)))
        return
    stdin = sys.stdin
    if stdin.isatty():
        click.echo("reading JSON lines from stdin (Ctrl-D to end)...", err=True)
    total, bad = _run_lines(matcher, stdin, lang)
    sys.stdout.flush()
    if bad:
        raise click.ClickException(f"{bad} of {total} input line(s) could not be analysed")


def register(cli: click.Group) -> None:
    """Add the analytics commands that need no database to the `callscope` group."""
    cli.add_command(analyze_text)
