"""The hallucination filter: what it removes and, as importantly, what it keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcription.errors import TranscriptionError
from transcription.filters import (
    DEFAULT_PHANTOM_PHRASES,
    FilterOptions,
    clean_segments,
    collapse_loops,
    is_phantom,
)
from transcription.segments import Segment, Word


def seg(text: str, start: float = 0.0, *, speaker: str = "agent", **kw: float) -> Segment:
    return Segment(start=start, end=start + 2.0, speaker=speaker, text=text, **kw)  # type: ignore[arg-type]


def words_of(text: str, start: float = 0.0) -> list[Word]:
    return [
        Word(start=start + i * 0.3, end=start + i * 0.3 + 0.25, text=f" {w}", probability=0.9)
        for i, w in enumerate(text.split())
    ]


def texts(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments]


def test_phantom_phrases_on_silence_are_dropped() -> None:
    segments = [
        seg("Thanks for watching!"),
        seg("Thank you for watching. Please subscribe."),
        seg("시청해주셔서 감사합니다."),
        seg("구독과 좋아요"),
        seg("字幕由Amara.org社区提供"),
        seg("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目"),
        seg("中文字幕志愿者"),
        seg("My brakes are still squeaking.", 3.0),
    ]

    assert texts(clean_segments(segments)) == ["My brakes are still squeaking."]


def test_real_speech_containing_a_phantom_phrase_stays() -> None:
    segments = [
        seg("Thank you for watching my car while I was away."),
        seg("Please subscribe me to the service plan."),
        seg("Thank you."),
    ]

    assert texts(clean_segments(segments)) == texts(segments)


def test_user_phrases_extend_the_default_list() -> None:
    segments = [seg("MBC 뉴스 이덕영입니다."), seg("Thanks for watching!"), seg("Hello?")]

    cleaned = clean_segments(segments, FilterOptions(phantom_phrases=("MBC 뉴스 이덕영입니다",)))
    only_user = clean_segments(
        segments,
        FilterOptions(use_default_phrases=False, phantom_phrases=("MBC 뉴스 이덕영입니다",)),
    )

    assert texts(cleaned) == ["Hello?"]
    assert texts(only_user) == ["Thanks for watching!", "Hello?"]
    assert is_phantom("thanks, FOR watching", DEFAULT_PHANTOM_PHRASES)
    assert not is_phantom("", DEFAULT_PHANTOM_PHRASES)


def test_no_speech_is_dropped_only_when_also_improbable() -> None:
    segments = [
        seg("Hmm.", no_speech_prob=0.9, avg_logprob=-1.5),
        seg("I want a refund.", no_speech_prob=0.9, avg_logprob=-0.3),
        seg("Refund now.", no_speech_prob=0.1, avg_logprob=-1.6),
    ]

    assert texts(clean_segments(segments)) == ["I want a refund.", "Refund now."]


def test_looping_phrase_collapses_to_one_copy_with_its_words() -> None:
    text = "I am sorry. I am sorry. I am sorry. I am sorry. I am sorry. Goodbye."
    segment = Segment(0.0, 9.0, "agent", text, words=words_of(text))

    collapsed = collapse_loops(segment)

    assert collapsed.text == "I am sorry. Goodbye."
    assert [w.text.strip() for w in collapsed.words] == ["I", "am", "sorry.", "Goodbye."]
    assert collapsed.end == collapsed.words[-1].end


def test_loop_without_word_timestamps_and_in_chinese() -> None:
    assert collapse_loops(seg("the the the the the the the the car")).text == "the car"
    assert collapse_loops(seg("我要退款我要退款我要退款我要退款")).text == "我要退款"


def test_short_repetitions_people_say_are_kept() -> None:
    for text in ("No, no, no.", "Hello? Hello?", "very very good"):
        assert collapse_loops(seg(text)).text == text


def test_same_segment_repeated_back_to_back_keeps_one() -> None:
    looping = [seg("Okay.", float(i)) for i in range(5)]
    twice = [seg("Hello?", 0.0), seg("Hello?", 2.0)]
    other_speaker = [seg("Okay.", 0.0), seg("Okay.", 1.0, speaker="customer"), seg("Okay.", 2.0)]

    assert texts(clean_segments([*looping, seg("Bye.", 9.0)])) == ["Okay.", "Bye."]
    assert texts(clean_segments(twice)) == ["Hello?", "Hello?"]
    assert len(clean_segments(other_speaker)) == 3
    assert len(clean_segments(looping, FilterOptions(collapse_loops=False))) == 5


def test_empty_and_punctuation_only_segments_are_dropped() -> None:
    assert clean_segments([seg(""), seg(" ... "), seg("OK")]) == [seg("OK")]


def test_users_extend_the_phantom_phrases_with_a_file(tmp_path: Path) -> None:
    from core.settings import Settings
    from transcription.engine import Engine
    from transcription.filters import load_phantom_phrases

    extra = tmp_path / "phantoms.txt"
    extra.write_text("# our PBX's hold music jingle\nWelcome to Happy Motors\n\n")
    assert load_phantom_phrases(extra) == ("Welcome to Happy Motors",)
    settings = Settings(_env_file=None, phantom_phrases_file=extra)  # type: ignore[call-arg]
    engine = Engine.from_settings(settings)
    assert "Welcome to Happy Motors" in engine.options.filters.phantom_phrases
    with pytest.raises(TranscriptionError, match="CALLSCOPE_PHANTOM_PHRASES_FILE"):
        load_phantom_phrases(tmp_path / "missing.txt")
