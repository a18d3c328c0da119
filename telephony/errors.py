"""Telephony exceptions.

TelephonyError
 +-- AmiError
 |    +-- AmiConnectError     the PBX cannot be reached (retried with backoff)
 |    +-- AmiAuthError        login refused: wrong user/secret or host not permitted (not retried)
 |    +-- AmiProtocolError    the peer does not speak AMI (not retried)
 +-- QueueLogError (telephony.queue_log)  an unreadable queue_log line (skipped)
"""

from core.errors import CallscopeError


class TelephonyError(CallscopeError):
    """Base of telephony errors."""


class AmiError(TelephonyError):
    """Something went wrong talking to the Asterisk Manager Interface."""


class AmiConnectError(AmiError):
    """The AMI port cannot be reached or the link dropped."""


class AmiAuthError(AmiError):
    """Asterisk refused the login."""


class AmiProtocolError(AmiError):
    """The peer did not answer like Asterisk's manager interface."""
