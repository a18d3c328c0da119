"""Exceptions shared by every package.

CallscopeError
 +-- ConfigError        a setting is wrong; the message names it
 +-- DatabaseError      the database is unreachable or not migrated
"""


class CallscopeError(Exception):
    """Base of every error callscope raises on purpose."""


class ConfigError(CallscopeError):
    """A setting has a wrong value."""


class DatabaseError(CallscopeError):
    """The database cannot be used as configured."""
