"""The error every room raises when a user can act on it."""

from __future__ import annotations


class ProfileguardError(Exception):
    """What failed, where (file:line:column, row, column) and what is allowed.

    The CLI prints the message without a traceback and exits with status 2.
    """

    exit_code = 2
