"""Analytics exceptions.

AnalyticsError
 +-- LexiconError        a lexicon file or model is invalid; names the theme and the field
 +-- MatchInputError     text or segments handed to the matcher cannot be used (unknown
 |                       language, a segment without text, ...)
 +-- ThemeSetError       a stored lexicon version that does not exist
 +-- CallNotFound        no call with that id or Linkedid
 +-- FollowUpError       a follow-up cannot be closed (none for the call, already done, no note)
"""

from __future__ import annotations

from core.errors import CallscopeError


class AnalyticsError(CallscopeError):
    """Base of analytics errors."""


class LexiconError(AnalyticsError):
    """The complaint-theme lexicon is invalid; `theme` and `field` say where."""

    def __init__(
        self,
        detail: str,
        *,
        theme: str | None = None,
        field: str | None = None,
        source: str | None = None,
    ) -> None:
        self.detail = detail
        self.theme = theme
        self.field = field
        self.source = source
        where = [f"in {source}"] if source else []
        if theme is not None:
            where.append(f"theme {theme!r}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"lexicon {', '.join(where)}: {detail}" if where else f"lexicon: {detail}")

    def in_source(self, source: str) -> LexiconError:
        """The same error, saying which file it came from."""
        return LexiconError(self.detail, theme=self.theme, field=self.field, source=source)


class MatchInputError(AnalyticsError):
    """Input to the theme matcher is unusable."""


class ThemeSetError(AnalyticsError):
    """A stored lexicon version is missing."""


class CallNotFound(AnalyticsError):
    """No call has that id."""


class FollowUpError(AnalyticsError):
    """A follow-up cannot be closed as asked."""
