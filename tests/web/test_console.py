"""The console driven in Chromium as its three kinds of users, in three languages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.conftest import SCENARIOS
from tests.web.a11y import check_page
from tests.web.conftest import DESKTOP, NARROW, Console, ConsoleErrors, login, screenshot

pytestmark = pytest.mark.browser

COMPLAINT = SCENARIOS["answered-1s-complaint"]  # Alice's call: transcript, safety theme, flags


def shoot_both(page: Any, name: str, ready: str) -> None:
    """Screenshots at desktop and narrow widths, waiting for `ready` after each resize."""
    page.set_viewport_size(DESKTOP)
    page.wait_for_selector(ready)
    screenshot(page, name)
    page.set_viewport_size(NARROW)
    page.wait_for_selector(ready)
    screenshot(page, name)
    page.set_viewport_size(DESKTOP)


def test_supervisor_reviews_a_flagged_call(console: Console, new_page: Any) -> None:
    page = new_page()
    login(page, "sup_hotline")
    assert page.url.endswith("/queue")  # a supervisor's home
    screenshot_login = new_page(viewport=NARROW)
    screenshot_login.goto("/login")
    screenshot(screenshot_login, "login")

    page.goto(f"/queue?day={console.day}")
    first = page.locator("#queue-body tr[data-href]").first
    first.wait_for()
    assert "Critical" in first.inner_text()  # most severe first
    problems = check_page(page)
    shoot_both(page, "review-queue", "#queue-body tr[data-href]")
    # keyboard: j moves down, k back up, Enter opens the selected (flagged) call
    page.locator("body").press("j")
    page.locator("body").press("k")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/calls/{COMPLAINT}")
    page.wait_for_selector("body[data-player-ready]")
    assert "Complaint" in page.locator("#flags").inner_text()
    assert page.locator("#waves .wave").count() == 3  # mixed, customer and agent legs

    page.locator("#play").click()
    page.wait_for_function(
        "Number(document.querySelector('#t-now').dataset.seconds) > 0.3", timeout=8000
    )
    page.locator("#play").click()  # pause
    lines = page.locator("#transcript .line")
    assert lines.count() == 2
    start = float(lines.nth(1).get_attribute("data-start") or "nan")
    lines.nth(1).click()
    page.wait_for_function(
        f"Math.abs(Number(document.querySelector('#t-now').dataset.seconds) - {start}) < 0.3"
    )
    page.wait_for_selector("#transcript .line.current")
    assert lines.nth(1).get_attribute("aria-current") == "true"

    # score every criterion a person scores; auto ones stay "from call facts"
    form = page.locator("#scorecard")
    form.locator("select[data-criterion]").first.wait_for()
    for select in form.locator("select[data-criterion]").all():
        if select.input_value() == "":
            select.select_option("1")
    form.locator("#qa-comment").fill("Good greeting; confirm the plate number next time.")
    form.locator("button[type=submit]").click()
    item = page.locator("#history .history-item").first
    item.wait_for()
    assert "sup_hotline" in item.inner_text()
    assert "confirm the plate number" in item.inner_text()
    reviews = console.api("sup_hotline", "GET", f"/calls/{COMPLAINT}/reviews")
    assert reviews[0]["comment"].startswith("Good greeting")
    problems += check_page(page)
    shoot_both(page, "call", "body[data-player-ready]")
    assert not problems, "\n".join(problems)


def test_agent_sees_own_calls_and_disputes_a_review(
    console: Console, new_page: Any, page_errors: ConsoleErrors
) -> None:
    review = _review_for_dispute(console)
    alice_calls = {
        c["call_id"] for c in console.api("alice", "GET", "/calls?page_size=200")["items"]
    }
    all_calls = {
        c["call_id"] for c in console.api("manager", "GET", "/calls?page_size=200")["items"]
    }
    others = sorted(all_calls - alice_calls)
    assert others, "the golden capture has calls Alice never touched"

    page = new_page()
    login(page, "alice")
    assert page.url.endswith("/me")
    page.locator("#my-calls-body tr[data-call]").first.wait_for()
    shown = set(
        page.locator("#my-calls-body tr[data-call]").evaluate_all(
            "rows => rows.map(r => r.dataset.call)"
        )
    )
    assert shown and shown <= alice_calls
    assert not shown & set(others)
    page.locator(f"#my-reviews [data-review='{review['id']}']").wait_for()
    problems = check_page(page)
    shoot_both(page, "agent-home", "#my-calls-body tr[data-call]")

    # someone else's call is not found, exactly like a call that does not exist
    page_errors.allow(
        f"/calls/{others[0]}: Failed to load resource: the server responded with a status of 404"
    )
    page.goto(f"/calls/{others[0]}")
    page.locator("#call-error [role=alert]").wait_for()

    page.goto(f"/calls/{COMPLAINT}")
    item = page.locator(f"#history [data-review='{review['id']}']")
    item.wait_for()
    item.locator("textarea").fill("The caller hung up before I could close.")
    item.get_by_role("button", name="Dispute").click()
    page.locator(f"#history [data-review='{review['id']}'] .badge", has_text="Disputed").wait_for()
    after = console.api("alice", "GET", f"/reviews/{review['id']}")
    assert after["status"] == "disputed"
    assert after["agent_comment"].startswith("The caller hung up")
    assert not problems, "\n".join(problems)


def _review_for_dispute(console: Console) -> Any:
    """A fresh review of Alice's complaint call, scored by the supervisor through the API."""
    form = next(f for f in console.api("sup_hotline", "GET", "/qa/forms") if f["is_default"])
    scores = [
        {"criterion": c["key"], "score": 0 if c["key"] == "closing" else 1}
        for c in form["criteria"]
        if not c["auto"]
    ]
    return console.api(
        "sup_hotline",
        "POST",
        f"/calls/{COMPLAINT}/reviews",
        json={"form_id": form["id"], "scores": scores, "comment": "Closing missing."},
    )


def test_manager_dashboard_matches_the_api(console: Console, new_page: Any) -> None:
    page = new_page()
    login(page, "manager")
    assert "/dashboard" in page.url
    page.goto(f"/dashboard?since={console.day}&until={console.day}")
    cell = page.locator("#by-queue tr[data-group='hotline'] td[data-field='sl_answered']")
    cell.wait_for()
    report = console.api(
        "manager",
        "GET",
        "/reports/compliance",
        params={
            "since": f"{console.day}T00:00:00",
            "until": _next_day(console.day) + "T00:00:00",
            "by": "queue",
        },
    )
    hotline = next(r for r in report["rows"] if r["group"] == "hotline")
    assert float(cell.get_attribute("data-value") or "nan") == hotline["sl_answered"]
    offered = page.locator("#by-queue tr[data-group='hotline'] td[data-field='offered']")
    assert int(offered.get_attribute("data-value") or "-1") == hotline["offered"]
    shown_percent = cell.inner_text()
    assert shown_percent == f"{hotline['sl_answered'] * 100:.1f}%"
    # the whole day's two service levels, as the API computes them over every queue
    (day,) = console.api(
        "manager",
        "GET",
        "/reports/compliance",
        params={
            "since": f"{console.day}T00:00:00",
            "until": _next_day(console.day) + "T00:00:00",
            "by": "day",
        },
    )["rows"]
    for kpi, field in (("sl", "sl_answered"), ("sl_inclusive", "sl_inclusive")):
        shown = page.locator(f"[data-kpi='{kpi}'] .value").inner_text()
        assert shown == f"{day[field] * 100:.1f}%", (kpi, shown, day[field])
    page.wait_for_function("document.querySelector('#chart-heat').width > 0")
    problems = check_page(page)
    shoot_both(page, "dashboard", "#by-queue tr[data-group]")

    page.goto("/themes?until=" + console.day)
    page.locator("#themes-table tbody tr").first.wait_for()
    page.locator("#search-q").fill("brake")
    page.locator("#search-form button").click()
    page.locator("#search-results mark").first.wait_for()
    assert page.locator("#search-results mark").first.inner_text().lower() == "brake"
    problems += check_page(page)
    shoot_both(page, "themes", "#search-results mark")

    page.goto("/calls")
    page.locator("#calls-body tr[data-call]").first.wait_for()
    shoot_both(page, "calls", "#calls-body tr[data-call]")

    page.goto("/wallboard")
    page.locator("#wb-agents li").first.wait_for()
    shoot_both(page, "wallboard", "#wb-agents li")
    assert not problems, "\n".join(problems)


def _next_day(day: str) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def test_admin_tests_a_sentence_live(console: Console, new_page: Any) -> None:
    page = new_page()
    login(page, "admin")
    assert page.url.endswith("/admin")
    page.locator("#users-table tr[data-user='alice']").wait_for()
    problems = check_page(page)
    shoot_both(page, "admin-users", "#users-table tr[data-user]")
    page.locator("#tab-lexicon").click()
    page.locator("#lx-test").fill("My brakes squeal when I stop")
    page.locator("#lx-result li").first.wait_for()
    assert "Safety" in page.locator("#lx-result").inner_text()
    problems += check_page(page)
    shoot_both(page, "admin-lexicon", "#lx-result li")

    # ring cycle per queue: Korea's 3 s rings for the sales queue
    page.locator("#tab-rules").click()
    row = page.locator("#queues-table tr[data-queue='sales']")
    row.wait_for()
    row.locator("[name=ring_cycle_s]").fill("3")
    row.locator("button").click()
    page.locator("#queues-table tr[data-queue='sales'] th div", has_text="9").wait_for()
    sales = next(q for q in console.api("admin", "GET", "/queues") if q["name"] == "sales")
    assert sales["ring_cycle_s"] == 3.0 and sales["effective_target_s"] == 9.0
    # a flag threshold set here is what the API (and the analysis) uses
    page.locator("#fr-flag_long_silence_s").fill("8")
    page.locator("#flag-rules-form button[type=submit]").click()
    page.wait_for_function(
        "document.querySelector('#fr-flag_long_silence_s')?.value === '8' && "
        "document.querySelector('.toast') !== null"
    )
    rules = {r["field"]: r for r in console.api("admin", "GET", "/flag-rules")["rules"]}
    assert rules["flag_long_silence_s"]["value"] == 8 and rules["flag_long_silence_s"][
        "source"
    ] == ("console")
    problems += check_page(page)
    shoot_both(page, "admin-queues", "#queues-table tr[data-queue]")
    assert not problems, "\n".join(problems)


def test_languages_korean_and_chinese(console: Console, new_page: Any) -> None:
    page = new_page(locale="ko-KR")  # the browser's language is the default
    login(page, "sup_hotline")
    nav = page.locator(".mainnav")
    assert "검토 대기열" in nav.inner_text()
    page.goto(f"/calls/{COMPLAINT}")
    page.wait_for_selector("body[data-player-ready]")
    assert page.locator("#play").inner_text().endswith("재생")
    assert re.search(r"2026\. 11\. 22\.", page.locator("#call-sub").inner_text())
    screenshot_name = "call-ko"
    screenshot(page, screenshot_name)

    page.locator("#lang-select").select_option("zh")  # the user picks: kept in a cookie
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    page.wait_for_selector("body[data-player-ready]")
    assert "质检队列" in page.locator(".mainnav").inner_text()
    assert "2026年11月22日" in page.locator("#call-sub").inner_text()
    page.goto(f"/queue?day={console.day}")
    page.locator("#queue-body tr[data-href]").first.wait_for()
    assert "紧急" in page.locator("#queue-body").inner_text()  # severity in Chinese
    screenshot(page, "review-queue-zh")
    page.goto("/dashboard")  # the cookie outlives the page
    assert page.locator("h1").inner_text() == "达标看板" or "/queue" in page.url
