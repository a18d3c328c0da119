"""The complaint-theme lexicon: themes, phrases per language, proximity and negation rules.

A lexicon is plain data (frozen dataclasses) with a YAML form. `load_lexicon()` reads the default
taxonomy shipped in `lexicon_default.yaml`; `load_lexicon(path)` reads another file (to try a
change before it is imported anywhere); `dump_lexicon(lex, path)` writes one back. Validation
happens when the dataclasses are built, so an invalid lexicon cannot exist, and every error names
the theme and the field to fix.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from analytics.errors import LexiconError

#: Languages the matcher understands (text in Traditional Chinese is matched as `zh`).
LANGUAGES: tuple[str, ...] = ("zh", "ko", "en")
#: Phrase lists a theme may carry; `zh_hant` phrases are converted to Simplified and match as zh.
PHRASE_LISTS: tuple[str, ...] = ("zh", "zh_hant", "ko", "en")
#: Languages every theme needs a label in.
LABEL_LANGUAGES: tuple[str, ...] = ("en", "zh", "ko")

_THEME_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
DEFAULT_LEXICON_FILE = "lexicon_default.yaml"


@dataclass(frozen=True)
class ProximityRule:
    """`terms` within `within` words (en, ko) or characters (zh) of `near`, in either order."""

    lang: str
    terms: tuple[str, ...]
    near: tuple[str, ...]
    within: int


@dataclass(frozen=True)
class NegationCues:
    """Extra denial cues for one theme in one language (added to the language-wide ones)."""

    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class NegationRules:
    """How denials look in one language.

    A cue in `before` denies a phrase that starts at most `window_before` units after it; a cue
    in `after` denies a phrase that ends at most `window_after` units before it (Korean puts the
    denial after the stem: 불친절하지 않았어요). Units are words for en/ko, characters for zh.
    `ignore` lists look-alikes that deny nothing ("not happy", 没想到); a cue never reaches
    across a `stop` word ("but", 但是) or clause punctuation.
    """

    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    window_before: int = 3
    window_after: int = 2
    ignore: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("window_before", "window_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 50:
                raise LexiconError(
                    f"must be a whole number from 0 to 50, got {value!r}", field=name
                )
        for name in ("before", "after", "ignore", "stop"):
            _check_strings(getattr(self, name), theme=None, field=name, allow_empty=True)


@dataclass(frozen=True)
class Theme:
    """One complaint theme: labels, weight, phrases per language and optional rules."""

    id: str
    labels: Mapping[str, str]
    weight: float = 1.0
    always_flag: bool = False
    phrases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    proximity: tuple[ProximityRule, ...] = ()
    negation: Mapping[str, NegationCues] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _THEME_ID.match(self.id):
            raise LexiconError(
                f"id must be lower-case letters, digits and _ (starting with a letter), "
                f"got {self.id!r}",
                theme=str(self.id),
                field="id",
            )
        for lang in LABEL_LANGUAGES:
            label = self.labels.get(lang)
            if not isinstance(label, str) or not label.strip():
                raise LexiconError(f"needs a label in {lang!r}", theme=self.id, field="labels")
        extra = set(self.labels) - set(LABEL_LANGUAGES)
        if extra:
            raise LexiconError(
                f"unknown label language(s) {sorted(extra)}; use {list(LABEL_LANGUAGES)}",
                theme=self.id,
                field="labels",
            )
        weight = self.weight
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
            raise LexiconError(
                f"must be a number above 0, got {weight!r}", theme=self.id, field="weight"
            )
        if not isinstance(self.always_flag, bool):
            raise LexiconError(
                f"must be true or false, got {self.always_flag!r}",
                theme=self.id,
                field="always_flag",
            )
        unknown = set(self.phrases) - set(PHRASE_LISTS)
        if unknown:
            raise LexiconError(
                f"unknown phrase list(s) {sorted(unknown)}; use {list(PHRASE_LISTS)}",
                theme=self.id,
                field="phrases",
            )
        for lang, phrases in self.phrases.items():
            _check_strings(phrases, theme=self.id, field=f"phrases.{lang}", allow_empty=True)
        if not any(self.phrases.values()) and not self.proximity:
            raise LexiconError(
                "has no phrases and no proximity rules, so it can never match",
                theme=self.id,
                field="phrases",
            )
        for i, rule in enumerate(self.proximity):
            where = f"proximity[{i}]"
            if rule.lang not in LANGUAGES:
                raise LexiconError(
                    f"lang must be one of {list(LANGUAGES)}, got {rule.lang!r}",
                    theme=self.id,
                    field=f"{where}.lang",
                )
            _check_strings(rule.terms, theme=self.id, field=f"{where}.terms", allow_empty=False)
            _check_strings(rule.near, theme=self.id, field=f"{where}.near", allow_empty=False)
            within = rule.within
            if isinstance(within, bool) or not isinstance(within, int) or not 0 <= within <= 50:
                raise LexiconError(
                    f"must be a whole number from 0 to 50, got {within!r}",
                    theme=self.id,
                    field=f"{where}.within",
                )
        for lang, cues in self.negation.items():
            if lang not in LANGUAGES:
                raise LexiconError(
                    f"language must be one of {list(LANGUAGES)}, got {lang!r}",
                    theme=self.id,
                    field="negation",
                )
            for side in ("before", "after"):
                _check_strings(
                    getattr(cues, side),
                    theme=self.id,
                    field=f"negation.{lang}.{side}",
                    allow_empty=True,
                )

    def phrases_for(self, lang: str) -> tuple[str, ...]:
        """The theme's phrases matched as language `lang` (zh includes the zh_hant list)."""
        if lang == "zh":
            return tuple(self.phrases.get("zh", ())) + tuple(self.phrases.get("zh_hant", ()))
        return tuple(self.phrases.get(lang, ()))


@dataclass(frozen=True)
class Lexicon:
    """A complete taxonomy: versioned themes plus the language-wide negation rules."""

    version: int
    themes: tuple[Theme, ...]
    negation: Mapping[str, NegationRules] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise LexiconError(
                f"must be a whole number of 1 or more, got {self.version!r}", field="version"
            )
        if not self.themes:
            raise LexiconError("has no themes", field="themes")
        seen: set[str] = set()
        for theme in self.themes:
            if theme.id in seen:
                raise LexiconError("is defined twice", theme=theme.id, field="id")
            seen.add(theme.id)
        unknown = set(self.negation) - set(LANGUAGES)
        if unknown:
            raise LexiconError(
                f"unknown language(s) {sorted(unknown)}; use {list(LANGUAGES)}", field="negation"
            )

    @property
    def theme_ids(self) -> tuple[str, ...]:
        """Theme ids in lexicon order."""
        return tuple(t.id for t in self.themes)

    def theme(self, theme_id: str) -> Theme:
        """The theme with this id (LexiconError when there is none)."""
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise LexiconError(f"no such theme; known: {', '.join(self.theme_ids)}", theme=theme_id)

    def negation_for(self, lang: str) -> NegationRules:
        """The language-wide negation rules (empty rules when the lexicon has none)."""
        return self.negation.get(lang) or NegationRules()

    def fingerprint(self) -> str:
        """A stable sha256 of the lexicon's content, to tell which lexicon produced a result."""
        canonical = json.dumps(lexicon_to_dict(self), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _check_strings(values: Any, *, theme: str | None, field: str, allow_empty: bool) -> None:
    if not isinstance(values, tuple | list):
        raise LexiconError(f"must be a list of phrases, got {values!r}", theme=theme, field=field)
    if not values and not allow_empty:
        raise LexiconError("must list at least one phrase", theme=theme, field=field)
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip() or value.strip() == "*":
            raise LexiconError(
                f"item {i} must be a non-empty phrase, got {value!r}",
                theme=theme,
                field=f"{field}[{i}]",
            )


# --- YAML / dict form ---------------------------------------------------------------------

_THEME_KEYS = {
    "id",
    "labels",
    "weight",
    "always_flag",
    "description",
    "phrases",
    "proximity",
    "negation",
}
_RULE_KEYS = {"lang", "terms", "near", "within"}
_NEGATION_KEYS = {"before", "after", "window_before", "window_after", "ignore", "stop"}


def _mapping(value: Any, *, theme: str | None, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise LexiconError(f"must be a mapping, got {value!r}", theme=theme, field=field)
    return value


def _unknown_keys(
    data: Mapping[str, Any], allowed: set[str], *, theme: str | None, field: str
) -> None:
    unknown = sorted(str(k) for k in set(data) - allowed)
    if unknown:
        raise LexiconError(
            f"unknown key(s) {unknown}; allowed: {sorted(allowed)}", theme=theme, field=field
        )


def _phrase_list(value: Any, *, theme: str | None, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise LexiconError(f"must be a list of phrases, got {value!r}", theme=theme, field=field)
    out: list[str] = []
    for i, item in enumerate(value):
        # An unquoted 12315 in YAML is an int; it is still the hotline number the author meant.
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str):
            raise LexiconError(
                f"must be text, got {item!r} (quote it)", theme=theme, field=f"{field}[{i}]"
            )
        out.append(item)
    return tuple(out)


def _negation_rules(lang: str, data: Any) -> NegationRules:
    where = f"negation.{lang}"
    mapping = _mapping(data, theme=None, field=where)
    _unknown_keys(mapping, _NEGATION_KEYS, theme=None, field=where)
    kwargs: dict[str, Any] = {}
    for key in ("before", "after", "ignore", "stop"):
        kwargs[key] = _phrase_list(mapping.get(key), theme=None, field=f"{where}.{key}")
    for key in ("window_before", "window_after"):
        if key in mapping:
            kwargs[key] = mapping[key]
    try:
        return NegationRules(**kwargs)
    except LexiconError as exc:
        raise LexiconError(exc.detail, field=f"{where}.{exc.field}") from None


def _theme(data: Any, index: int) -> Theme:
    if not isinstance(data, Mapping):
        raise LexiconError(f"must be a mapping, got {data!r}", field=f"themes[{index}]")
    theme_id = data.get("id")
    name = str(theme_id) if theme_id is not None else f"#{index}"
    if not isinstance(theme_id, str):
        raise LexiconError(f"is missing or not text: {theme_id!r}", theme=name, field="id")
    _unknown_keys(data, _THEME_KEYS, theme=name, field="(theme)")
    labels = _mapping(data.get("labels"), theme=name, field="labels")
    phrases_raw = _mapping(data.get("phrases"), theme=name, field="phrases")
    phrases = {
        str(lang): _phrase_list(values, theme=name, field=f"phrases.{lang}")
        for lang, values in phrases_raw.items()
    }
    rules_raw = data.get("proximity") or []
    if not isinstance(rules_raw, list):
        raise LexiconError(
            f"must be a list of rules, got {rules_raw!r}", theme=name, field="proximity"
        )
    rules: list[ProximityRule] = []
    for i, rule in enumerate(rules_raw):
        where = f"proximity[{i}]"
        rule_map = _mapping(rule, theme=name, field=where)
        _unknown_keys(rule_map, _RULE_KEYS, theme=name, field=where)
        for key in ("lang", "terms", "near", "within"):
            if key not in rule_map:
                raise LexiconError("is missing", theme=name, field=f"{where}.{key}")
        rules.append(
            ProximityRule(
                lang=rule_map["lang"],
                terms=_phrase_list(rule_map["terms"], theme=name, field=f"{where}.terms"),
                near=_phrase_list(rule_map["near"], theme=name, field=f"{where}.near"),
                within=rule_map["within"],
            )
        )
    negation_raw = _mapping(data.get("negation"), theme=name, field="negation")
    negation: dict[str, NegationCues] = {}
    for lang, cues in negation_raw.items():
        where = f"negation.{lang}"
        cue_map = _mapping(cues, theme=name, field=where)
        _unknown_keys(cue_map, {"before", "after"}, theme=name, field=where)
        negation[str(lang)] = NegationCues(
            before=_phrase_list(cue_map.get("before"), theme=name, field=f"{where}.before"),
            after=_phrase_list(cue_map.get("after"), theme=name, field=f"{where}.after"),
        )
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise LexiconError(f"must be text, got {description!r}", theme=name, field="description")
    return Theme(
        id=theme_id,
        labels={str(k): v for k, v in labels.items()},
        weight=data.get("weight", 1.0),
        always_flag=data.get("always_flag", False),
        phrases=phrases,
        proximity=tuple(rules),
        negation=negation,
        description=description.strip(),
    )


def parse_lexicon(data: Any) -> Lexicon:
    """A validated Lexicon from its dict form (as read from YAML or JSON)."""
    if not isinstance(data, Mapping):
        raise LexiconError(f"the document must be a mapping, got {type(data).__name__}")
    _unknown_keys(data, {"version", "themes", "negation"}, theme=None, field="(top level)")
    if "version" not in data:
        raise LexiconError("is missing", field="version")
    themes_raw = data.get("themes")
    if not isinstance(themes_raw, list):
        raise LexiconError(f"must be a list of themes, got {themes_raw!r}", field="themes")
    negation_raw = _mapping(data.get("negation"), theme=None, field="negation")
    negation = {str(lang): _negation_rules(str(lang), v) for lang, v in negation_raw.items()}
    return Lexicon(
        version=data["version"],
        themes=tuple(_theme(t, i) for i, t in enumerate(themes_raw)),
        negation=negation,
    )


def lexicon_to_dict(lexicon: Lexicon) -> dict[str, Any]:
    """The plain-data form of a lexicon (what `dump_lexicon` writes)."""
    negation: dict[str, Any] = {}
    for lang, rules in lexicon.negation.items():
        negation[lang] = {
            "before": list(rules.before),
            "after": list(rules.after),
            "window_before": rules.window_before,
            "window_after": rules.window_after,
            "ignore": list(rules.ignore),
            "stop": list(rules.stop),
        }
    themes: list[dict[str, Any]] = []
    for theme in lexicon.themes:
        item: dict[str, Any] = {
            "id": theme.id,
            "labels": {lang: theme.labels[lang] for lang in LABEL_LANGUAGES},
            "weight": theme.weight,
            "always_flag": theme.always_flag,
        }
        if theme.description:
            item["description"] = theme.description
        item["phrases"] = {
            lang: list(theme.phrases[lang]) for lang in PHRASE_LISTS if lang in theme.phrases
        }
        if theme.proximity:
            item["proximity"] = [
                {"lang": r.lang, "terms": list(r.terms), "near": list(r.near), "within": r.within}
                for r in theme.proximity
            ]
        if theme.negation:
            item["negation"] = {
                lang: {
                    side: list(getattr(cues, side))
                    for side in ("before", "after")
                    if getattr(cues, side)
                }
                for lang, cues in theme.negation.items()
            }
        themes.append(item)
    return {"version": lexicon.version, "negation": negation, "themes": themes}


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Read a lexicon YAML file; without a path, the default taxonomy shipped with callscope."""
    if path is None:
        source = "the default lexicon"
        text = resources.files("analytics").joinpath(DEFAULT_LEXICON_FILE).read_text("utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise LexiconError(f"cannot read it: {exc.strerror or exc}", source=source) from exc
        except UnicodeDecodeError as exc:
            raise LexiconError(f"not UTF-8 text ({exc.reason})", source=source) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LexiconError(f"not valid YAML: {exc}", source=source) from exc
    try:
        return parse_lexicon(data)
    except LexiconError as exc:
        raise exc.in_source(source) from None


def dump_lexicon(lexicon: Lexicon, path: str | Path) -> None:
    """Write a lexicon as YAML that `load_lexicon` reads back to an equal Lexicon."""
    text = yaml.safe_dump(lexicon_to_dict(lexicon), sort_keys=False, allow_unicode=True, width=100)
    Path(path).write_text(f"# callscope complaint-theme lexicon\n{text}", encoding="utf-8")


def phrase_count(lexicon: Lexicon) -> int:
    """How many phrases (all languages and lists) the lexicon holds."""
    return sum(len(v) for t in lexicon.themes for v in t.phrases.values())
