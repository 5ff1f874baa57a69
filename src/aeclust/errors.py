"""The one error type users see: a bad parameter, argument or data file.

Stages catch it at the top (see `aeclust.stage`) and print its message as one line.
"""


class UserError(Exception):
    """Something the user can fix: the message names what, the bad value, what is allowed."""


class ParamsError(UserError):
    """A key of params.yaml is missing, unknown, of the wrong type or out of range."""


class DataError(UserError):
    """A data file is missing, unreadable or holds something that is not a grayscale image set."""
