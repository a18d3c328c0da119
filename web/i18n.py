"""The console's languages: one message catalogue (messages.json) and the choice of language.

The user's pick is kept in a cookie; without one the browser's Accept-Language decides.
Dates and numbers are formatted in the browser with `Intl` for the page's locale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LANG_COOKIE = "callscope_lang"
CATALOGUE = Path(__file__).parent / "messages.json"


@dataclass(frozen=True, slots=True)
class Language:
    """A console language: its code, its BCP 47 locale for Intl, and its own name."""

    code: str
    locale: str
    name: str


LANGUAGES: tuple[Language, ...] = (
    Language("en", "en-US", "English"),
    Language("zh", "zh-CN", "简体中文"),
    Language("ko", "ko-KR", "한국어"),
)
BY_CODE = {lang.code: lang for lang in LANGUAGES}
DEFAULT = LANGUAGES[0]


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Message key -> {language code: text}."""
    data: dict[str, dict[str, str]] = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return data


def messages(code: str) -> dict[str, str]:
    """Every message in one language (English where a translation is missing)."""
    return {key: texts.get(code) or texts["en"] for key, texts in catalogue().items()}


def from_accept_language(header: str | None) -> Language:
    """The best console language for an Accept-Language header (English if none fits)."""
    if not header:
        return DEFAULT
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        choices.append((-q, i, tag.strip().lower()))
    for _q, _i, tag in sorted(choices):
        primary = tag.split("-")[0]
        if primary == "zh" and any(x in tag for x in ("-tw", "-hk", "-mo", "-hant")):
            continue  # traditional Chinese readers: no catalogue yet; try their next choice
        if primary in BY_CODE:
            return BY_CODE[primary]
    return DEFAULT


def pick(cookie: str | None, accept_language: str | None) -> Language:
    """The cookie's language if it names one, else the browser's."""
    if cookie and cookie in BY_CODE:
        return BY_CODE[cookie]
    return from_accept_language(accept_language)
