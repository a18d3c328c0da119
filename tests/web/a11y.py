"""A basic accessibility check run in the page: labels, keyboard focus, text contrast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

# returns a list of problems; contrast per WCAG 2.x (4.5:1, 3:1 for large text)
CHECK_JS = (HERE / "a11y_check.js").read_text()
FOCUS_JS = (HERE / "a11y_focus.js").read_text()


def check_page(page: Any) -> list[str]:
    """Labels, names and contrast problems of the page as it is now, plus a Tab focus check."""
    problems: list[str] = page.evaluate(CHECK_JS)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focus: str = page.evaluate(FOCUS_JS)
    if focus:
        problems.append(focus)
    return [f"{page.url}: {p}" for p in problems]
