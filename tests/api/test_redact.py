"""Masking personal numbers in transcripts: the patterns, word consistency, and per role."""

from __future__ import annotations

import pytest

from api.redact import contains_pii, redact_segment, redact_text
from tests.api.conftest import COMPLAINT_WORDS, SCENARIOS, Api


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # Chinese mobiles: carrier prefix and last four kept
        ("我的电话是13812345678谢谢", "我的电话是138****5678谢谢"),
        ("call me on 138 1234 5678 please", "call me on 138 **** 5678 please"),
        ("+86 139-1234-5678", "+86 139-****-5678"),
        ("１３８１２３４５６７８", "１３８****５６７８"),  # full-width digits
        # Korean mobiles
        ("010-1234-5678로 전화주세요", "010-****-5678로 전화주세요"),
        ("01098765432", "010****5432"),
        ("+82 10 1234 5678", "+82 10 **** 5678"),
        # other phone numbers: 7+ digits with separators, last four kept
        ("office 021-6234 5678", "office ***-**** 5678"),
        ("(02) 555-0199", "(**) ***-0199"),
        # licence plates
        ("车牌京A12345", "车牌京****45"),
        ("车牌京Ａ１２３４５", "车牌京****４５"),
        ("粤B·D12345 stopped", "粤*·****45 stopped"),
        ("12가3456 차량", "**가**56 차량"),
        ("서울 123가4567", "서울 ***가**67"),
        # IDs and cards
        ("身份证110101199003071234号", "身份证**************1234号"),
        ("ID 11010119900307123X", "ID **************123X"),
        ("주민번호 900101-1234567", "주민번호 ******-*******"),
        ("card 4111 1111 1111 1111", "card **** **** **** 1111"),
        ("card 4111-1111-1111-1111.", "card ****-****-****-1111."),
    ],
)
def test_personal_numbers_are_masked(text: str, masked: str) -> None:
    assert redact_text(text) == masked
    assert len(redact_text(text)) == len(text)
    assert contains_pii(text)


@pytest.mark.parametrize(
    "text",
    [
        "the brake pedal feels soft",
        "order 12345 arrived",  # short numbers are not personal
        "at 10:30 on 2024",
        "10월 2024년",  # a date in Korean is not a plate
        "price 1,000,000 won",
        "extension 5566",
        "京东 delivered it",
        "model A4 and Q5",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text
    assert not contains_pii(text)


def test_words_are_masked_like_the_segment_text() -> None:
    text = "".join(COMPLAINT_WORDS)
    masked_text, masked_words = redact_segment(text, COMPLAINT_WORDS)
    assert masked_text == " My brakes squeal. Call me on 138 **** 5678, the car is 京****45."
    assert "".join(masked_words) == masked_text
    assert masked_words[6:9] == [" 138", " ****", " 5678,"]
    assert len(masked_words) == len(COMPLAINT_WORDS)


def test_words_without_spaces_chinese_style() -> None:
    words = ["我的", "电话", "138", "1234", "5678"]
    text, masked = redact_segment("我的电话13812345678", words)
    assert text == "我的电话138****5678"
    assert masked == ["我的", "电话", "138", "****", "5678"]


def test_segment_text_differing_from_its_words_is_masked_on_its_own() -> None:
    text, words = redact_segment("Call 13812345678 now", [" Call", " 138", "12345678"])
    assert text == "Call 138****5678 now"
    assert words == [" Call", " 138", "****5678"]


def segments_of(api: Api, user: str) -> list[dict[str, object]]:
    reply = api.get(user, f"/api/v1/calls/{SCENARIOS['answered-1s-complaint']}")
    assert reply.status_code == 200
    transcript = reply.json()["transcript"]
    assert transcript["redacted"] is (user in ("alice", "sup_hotline"))
    segments: list[dict[str, object]] = transcript["segments"]
    return segments


@pytest.mark.parametrize("user", ["alice", "sup_hotline"])
def test_agents_and_supervisors_see_masked_transcripts(api: Api, user: str) -> None:
    customer = segments_of(api, user)[1]
    assert customer["text"] == " My brakes squeal. Call me on 138 **** 5678, the car is 京****45."
    words = customer["words"]
    assert isinstance(words, list)
    assert [w["text"] for w in words][6:9] == [" 138", " ****", " 5678,"]
    assert words[12]["text"] == " 京****45."
    assert "1234" not in str(customer)


@pytest.mark.parametrize("user", ["manager", "admin"])
def test_managers_and_admins_see_the_original(api: Api, user: str) -> None:
    customer = segments_of(api, user)[1]
    assert customer["text"] == "".join(COMPLAINT_WORDS)
    words = customer["words"]
    assert isinstance(words, list)
    assert [w["text"] for w in words] == COMPLAINT_WORDS


def test_the_recording_is_never_altered(api: Api) -> None:
    url = f"/api/v1/calls/{SCENARIOS['answered-1s-complaint']}/recording"
    assert api.get("alice", url).content == api.get("manager", url).content
