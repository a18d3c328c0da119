"""The theme matcher on real customer phrasing: languages, negation, proximity, offsets, times."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analytics.errors import MatchInputError
from analytics.matcher import Matcher, ThemeResult, language_code
from analytics.segments import Segment, Word

PROMPTS = Path(__file__).parents[1] / "fixtures" / "ami-traces" / "pbx-config" / "prompts.txt"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.default()


def themes(results: list[ThemeResult]) -> set[str]:
    return {r.theme for r in results}


def found(matcher: Matcher, text: str, lang: str | None) -> set[str]:
    return themes(matcher.match_text(text, lang))


# --- languages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("zh", "你们这个服务态度太差了，问什么都爱理不理的", {"service_attitude"}),
        ("zh", "上个月刚修过，现在又坏了，修了好几次还是没修好", {"repeat_repair"}),
        ("zh", "结账比报价贵了八百，这不是乱收费吗", {"pricing"}),
        ("zh", "给我换的是副厂件，根本不是原厂的", {"parts_quality"}),
        ("zh", "说好回电话的，到现在都没人联系我", {"no_callback"}),
        ("zh", "客服电话一直打不通，根本没人接", {"unanswered_phone"}),
        ("zh", "刹车失灵差点出车祸", {"safety"}),
        ("zh", "不给我退款我就打12315投诉，找媒体曝光", {"escalation"}),
        ("ko", "직원이 너무 불친절했어요", {"service_attitude"}),
        ("ko", "수리했는데 또 같은 소리가 나요", {"repeat_repair"}),
        ("ko", "견적보다 비싸게 나왔어요, 완전 바가지예요", {"pricing"}),
        ("ko", "순정 부품 아니잖아요", {"parts_quality"}),
        ("ko", "연락 준다더니 아무 연락이 없네요", {"no_callback"}),
        ("ko", "하루에 열 번을 걸어도 전화를 안 받아요", {"unanswered_phone"}),
        ("ko", "브레이크가 밀려서 사고 날 뻔했어요", {"safety"}),
        ("ko", "소비자원에 신고하고 환불 요구할 거예요", {"escalation"}),
        ("en", "The advisor was rude and ignored me", {"service_attitude"}),
        ("en", "Same problem again, it's still not fixed", {"repeat_repair"}),
        ("en", "I was overcharged, it's higher than the quote", {"pricing"}),
        ("en", "Those are fake parts", {"parts_quality"}),
        ("en", "They pushed me to buy a ceramic coating I didn't ask for", {"upsell"}),
        ("en", "Nobody called me back", {"no_callback"}),
        ("en", "I couldn't get through to anyone", {"unanswered_phone"}),
        ("en", "The brakes failed on the motorway", {"safety"}),
        ("en", "I want to speak to a manager or I'm calling my lawyer", {"escalation"}),
    ],
)
def test_each_language_finds_the_theme(
    matcher: Matcher, lang: str, text: str, expected: set[str]
) -> None:
    assert found(matcher, text, lang) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("服務態度很差", {"service_attitude"}),
        ("修了好幾次還是沒修好", {"repeat_repair"}),
        ("零件還沒到，已經等了一個月", {"long_wait"}),
        ("結帳比報價貴很多，根本是亂收費", {"pricing"}),
        ("煞車失靈，差點出車禍", {"safety"}),
        ("打了好幾次電話都沒人接", {"unanswered_phone"}),
        ("我要投訴，還要找律師", {"escalation"}),
    ],
)
def test_traditional_chinese_is_matched_through_conversion(
    matcher: Matcher, text: str, expected: set[str]
) -> None:
    assert found(matcher, text, "zh") == expected
    # The match text is the Traditional original, not the converted form.
    for result in matcher.match_text(text, "zh"):
        for m in result.matches:
            assert m.text == text[m.start : m.end]


def test_language_filter_and_tags(matcher: Matcher) -> None:
    text = "The staff were rude. 态度很差。 너무 불친절해요."
    assert found(matcher, text, "en") == {"service_attitude"}
    assert {m.lang for r in matcher.match_text(text, "en") for m in r.matches} == {"en"}
    assert {m.lang for r in matcher.match_text(text, None) for m in r.matches} == {"en", "zh", "ko"}
    assert language_code("zh-Hant") == "zh"
    assert language_code("ko_KR") == "ko"
    assert language_code("auto") is None
    with pytest.raises(MatchInputError, match="unsupported language 'fr'"):
        matcher.match_text("bonjour", "fr")


# --- word boundaries -------------------------------------------------------------------------


def test_english_needs_whole_words(matcher: Matcher) -> None:
    assert found(matcher, "She was prudent and crude oil prices are up", "en") == set()
    assert found(matcher, "I want to sue", "en") == {"escalation"}
    assert found(matcher, "the issue is pursued", "en") == set()
    # A prefix phrase (overcharg*) takes the whole word.
    [result] = matcher.match_text("They were overcharging everyone", "en")
    assert result.matches[0].text == "overcharging"


def test_korean_stem_takes_particles_and_endings_but_must_start_a_word(matcher: Matcher) -> None:
    for text in ("불친절했어요", "불친절하고", "불친절한 직원", "너무 불친절"):
        assert found(matcher, text, "ko") == {"service_attitude"}, text
    # 친절하지 않 is a phrase; inside 불친절하지 않았어요 it is not (and the denial counts).
    assert found(matcher, "직원이 친절하지 않았어요", "ko") == {"service_attitude"}
    assert found(matcher, "직원이 불친절하지 않았어요", "ko") == set()


# --- negation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "He was not rude"),
        ("en", "he wasn't rude at all"),
        ("en", "She wasn’t really rude, just busy"),
        ("en", "No problem with the price"),
        ("en", "I never said you overcharged me"),
        ("en", "I don't want a refund"),
        ("en", "Nobody was rude to me"),
        ("zh", "没有乱收费"),
        ("zh", "不是态度问题"),
        ("zh", "我没说你们态度差"),
        ("zh", "價格不算貴，也沒有亂收費"),
        ("ko", "불친절하지 않았어요"),
        ("ko", "불친절하진 않았어요"),
        ("ko", "바가지는 아니에요"),
        ("ko", "바가지 안 씌웠어요"),
        ("ko", "가격이 견적보다 비싸지는 않았어요"),
        ("ko", "불친절하다고는 생각 안 해요"),
    ],
)
def test_denials_do_not_count(matcher: Matcher, lang: str, text: str) -> None:
    assert found(matcher, text, lang) == set()


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        # Look-alikes that are complaints, not denials.
        ("en", "I am not happy, he was rude", {"service_attitude"}),
        ("en", "I'm not sure why they overcharged me", {"pricing"}),
        ("en", "He was not rude but he ignored me", {"service_attitude"}),
        ("zh", "没想到态度这么差，态度很差", {"service_attitude"}),
        ("zh", "修好没过几天又坏了", {"repeat_repair"}),
        ("zh", "这不是乱收费吗", {"pricing"}),
        ("zh", "不是价格问题，而是态度太差", {"service_attitude"}),
        ("ko", "수리했는데 또 안 돼요", {"repeat_repair"}),
        ("ko", "연락 준다더니 안 주네요", {"no_callback"}),
        ("ko", "불친절하진 않았지만 바가지를 씌웠어요", {"pricing"}),
    ],
)
def test_denial_window_stops_at_look_alikes_and_clauses(
    matcher: Matcher, lang: str, text: str, expected: set[str]
) -> None:
    assert found(matcher, text, lang) == expected


def test_korean_negating_adverb_is_a_whole_word(matcher: Matcher) -> None:
    # 안 denies (바가지 안 씌웠어요), but not as part of 불안 (uneasy) or 안에서 (inside).
    assert found(matcher, "브레이크가 불안해요, 소리가 나요", "ko") == {"safety"}
    assert found(matcher, "차 안에서 타는 냄새가 나요", "ko") == {"safety"}
    # 않 glued on without a space still denies.
    assert found(matcher, "불친절하지않았어요", "ko") == set()


def test_theme_specific_cue(matcher: Matcher) -> None:
    # 문제 없 denies a price complaint (a pricing cue), not, say, a safety one.
    assert found(matcher, "가격은 문제 없어요", "ko") == set()
    assert found(matcher, "수리비가 너무 비싸요", "ko") == {"pricing"}


# --- proximity -------------------------------------------------------------------------------


def test_proximity_rules(matcher: Matcher) -> None:
    [result] = matcher.match_text("The price is much higher than last year", "en")
    assert result.theme == "pricing"
    assert result.matches[0].text == "price is much higher"
    assert result.matches[0].rule == "proximity"
    # Too far apart, or in another sentence: no match.
    far = "The price of the service plan for the new model is higher"
    assert found(matcher, far, "en") == set()
    assert (
        found(matcher, "I asked about the price. Higher trims have a bigger engine.", "en") == set()
    )
    # A denial between the two terms.
    assert found(matcher, "The price was not higher than we agreed", "en") == set()
    # Chinese counts characters: 价格 within 6 characters of 贵.
    assert found(matcher, "这次的价格比上次贵了好多", "zh") == {"pricing"}
    assert found(matcher, "价格还是和以前一样的，一点也不贵", "zh") == set()
    # Either order, and the brakes rule turns a squeak into a safety matter.
    assert found(matcher, "there's a squeaking noise from the brakes", "en") == {"safety"}
    assert found(matcher, "刹车踩下去软软的", "zh") == {"safety"}


# --- overlaps and scores ---------------------------------------------------------------------


def test_overlapping_phrases_count_once_and_longer_phrase_wins(matcher: Matcher) -> None:
    [result] = matcher.match_text("服务态度很差", "zh")
    assert result.count == 1
    # 还没修好 (not finished yet) is a wait; its tail 没修好 must not add a repeat repair.
    assert found(matcher, "车到现在还没修好", "zh") == {"long_wait"}


def test_score_rewards_repetition_with_diminishing_returns(matcher: Matcher) -> None:
    weight = matcher.lexicon.theme("service_attitude").weight
    one = matcher.match_text("He was rude.", "en")[0]
    three = matcher.match_text("He was rude. So rude. Really rude, and impolite.", "en")[0]
    assert one.score == pytest.approx(weight)
    assert three.count == 4
    assert three.score == pytest.approx(weight * (1 + __import__("math").log(4)), abs=1e-3)
    assert three.score < 4 * one.score
    # Results come best score first; safety outweighs a single attitude remark.
    results = matcher.match_text("He was rude and the brakes failed", "en")
    assert [r.theme for r in results] == ["safety", "service_attitude"]
    assert results[0].always_flag and not results[1].always_flag


# --- offsets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "The  advisor\twas   VERY  rude.\n\nI want a ＲＥＦＵＮＤ！"),
        ("en", "Ｔｈｅ　ｐｒｉｃｅ　ｉｓ　ｍｕｃｈ　ｈｉｇｈｅｒ"),
        ("en", "café staff were rude\u200b, then nobody called me back"),
        ("en", "Wasn’t it ﬁxed?  Still not ﬁxed,  same problem again"),
        ("zh", "我上周來修車，服務態度很差！　我要投訴。"),
        ("zh", "收费：多收了３００块，比报价贵"),
        ("ko", "정비사가 너무  불친절했고,   환불해 주세요"),
        ("ko", "ㅂㅏ가지를 씌웠어요"),
    ],
)
def test_offsets_slice_the_original_text(matcher: Matcher, lang: str, text: str) -> None:
    matches = [m for r in matcher.match_text(text, lang) for m in r.matches]
    assert matches, text
    for m in matches:
        assert 0 <= m.start < m.end <= len(text)
        assert text[m.start : m.end] == m.text
        assert m.text.strip() == m.text


def test_offsets_point_at_the_phrase(matcher: Matcher) -> None:
    text = "Ｉ　ｗａｓ　ＯＶＥＲＣＨＡＲＧＥＤ　ｔｗｉｃｅ"
    [result] = matcher.match_text(text, "en")
    m = result.matches[0]
    assert m.text == "ＯＶＥＲＣＨＡＲＧＥＤ"
    assert (m.start, m.end) == (text.index("Ｏ"), text.index("Ｏ") + len("ＯＶＥＲＣＨＡＲＧＥＤ"))


# --- segments: speakers and times ------------------------------------------------------------


CALL = [
    {"speaker": "agent", "start": 0.0, "end": 4.0, "text": "Sorry, I was rude earlier."},
    {"speaker": "customer", "start": 4.0, "end": 14.0, "text": "Yes, you were very rude to me."},
    {"speaker": "customer", "start": 14.0, "end": 20.0, "text": "And I want a refund."},
]


def test_only_the_customer_counts_by_default(matcher: Matcher) -> None:
    results = matcher.match_segments(CALL, "en")
    assert themes(results) == {"service_attitude", "escalation"}
    attitude = next(r for r in results if r.theme == "service_attitude")
    assert [m.segment for m in attitude.matches] == [1]
    assert attitude.matches[0].speaker == "customer"
    both = matcher.match_segments(CALL, "en", speakers=["customer", "agent"])
    attitude = next(r for r in both if r.theme == "service_attitude")
    assert [m.segment for m in attitude.matches] == [0, 1]
    assert matcher.match_segments(CALL, "en", speakers=["agent"])[0].theme == "service_attitude"


def test_unknown_speaker_counts_only_when_the_call_has_no_legs(matcher: Matcher) -> None:
    mono = [{"speaker": "unknown", "start": 0.0, "end": 3.0, "text": "You overcharged me."}]
    assert themes(matcher.match_segments(mono, "en")) == {"pricing"}
    no_speaker = [{"start": 0.0, "end": 3.0, "text": "You overcharged me."}]
    assert themes(matcher.match_segments(no_speaker, "en")) == {"pricing"}
    legs = [*mono, {"speaker": "agent", "start": 3.0, "end": 5.0, "text": "Let me check."}]
    assert matcher.match_segments(legs, "en") == []


def test_times_are_proportional_without_words(matcher: Matcher) -> None:
    seg = Segment("customer", 10.0, 20.0, "0123456789 you overcharged me and it is bad")
    [result] = matcher.match_segments([seg], "en")
    m = result.matches[0]
    length = len(seg.text)
    assert m.time == pytest.approx(10.0 + 10.0 * m.start / length, abs=1e-3)
    assert m.time_end == pytest.approx(10.0 + 10.0 * m.end / length, abs=1e-3)
    assert 10.0 < m.time < m.time_end < 20.0


def test_times_come_from_words_when_present(matcher: Matcher) -> None:
    text = " I want a refund now"
    words = [
        Word(" I", 30.0, 30.2),
        Word(" want", 30.2, 30.5),
        Word(" a", 30.5, 30.6),
        Word(" refund", 31.4, 32.0),  # a pause before "refund": proportional would be wrong
        Word(" now", 32.0, 32.3),
    ]
    seg = Segment("customer", 30.0, 32.3, text, tuple(words))
    [result] = matcher.match_segments([seg], "en")
    m = result.matches[0]
    assert m.text == "refund"
    assert m.time == pytest.approx(31.4)
    assert m.time_end == pytest.approx(32.0)
    # Chinese word tokens without spaces, as faster-whisper gives them; and ORM-like objects.
    zh_words = [
        {"word": "那个", "start": 1.0, "end": 1.3},
        {"word": "顾问", "start": 1.3, "end": 1.7},
        {"word": "态度", "start": 2.4, "end": 2.8},
        {"word": "很差", "start": 2.8, "end": 3.2},
    ]

    class Row:
        speaker = "customer"
        start_s = 1.0
        end_s = 3.2
        text = "那个顾问态度很差"
        words = [
            type("W", (), {"text": w["word"], "start_s": w["start"], "end_s": w["end"]})
            for w in zh_words
        ]

    [zh] = matcher.match_segments([Row()], "zh")
    assert zh.matches[0].text == "态度很差"
    assert zh.matches[0].time == pytest.approx(2.4)
    assert zh.matches[0].time_end == pytest.approx(3.2)


def test_bad_segments_are_rejected_with_their_index(matcher: Matcher) -> None:
    with pytest.raises(MatchInputError, match="segment 1: text"):
        matcher.match_segments([CALL[0], {"speaker": "customer", "text": None}], "en")
    with pytest.raises(MatchInputError, match="segment 0: start"):
        matcher.match_segments([{"speaker": "customer", "start": "soon", "text": "x"}], "en")


# --- the recorded test prompts ---------------------------------------------------------------


def _prompts() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in PROMPTS.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(c_\w+):\s*(.+)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("c_brakes", {"safety", "repeat_repair", "no_callback", "escalation"}),
        ("c_price", {"pricing", "escalation"}),
        ("c_wait", {"long_wait"}),
        ("c_rude", {"service_attitude"}),
        ("c_booking", set()),
    ],
)
def test_english_prompts_map_to_expected_themes(
    matcher: Matcher, prompt: str, expected: set[str]
) -> None:
    text = _prompts()[prompt]
    assert found(matcher, text, "en") == expected
    if prompt == "c_price":
        escalation = next(r for r in matcher.match_text(text, "en") if r.theme == "escalation")
        assert [m.text for m in escalation.matches] == ["refund"]


def test_agent_greetings_are_not_complaints(matcher: Matcher) -> None:
    for line in PROMPTS.read_text(encoding="utf-8").splitlines():
        if line.startswith("greet_"):
            assert found(matcher, line.split(":", 1)[1], "en") == set(), line
