"""Survey exceptions.

SurveyError (AnalyticsError)
 +-- SurveyInputError    an answer that cannot be stored: a score outside 1-5, an unknown
 |                       question, form or call; the message says which and why
 +-- CallbackError       a callback item that cannot be completed (none, already done)
"""

from __future__ import annotations

from analytics.errors import AnalyticsError


class SurveyError(AnalyticsError):
    """Base of survey errors."""


class SurveyInputError(SurveyError):
    """An answer, form or CSV row that cannot be used; the message says why."""


class CallbackError(SurveyError):
    """A callback item cannot be completed as asked."""
