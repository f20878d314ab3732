"""Domain errors of the corpus builder.

Every error a user can cause (a wrong folder, a corrupt file, an impossible
option) is raised as :class:`RemixError` with a message that says what was
expected, what was found, and what to do. The command-line layer prints that
message on one line and exits non-zero, without a traceback.
"""

from __future__ import annotations


class RemixError(Exception):
    """A problem with the user's input or sources, explained in the message."""
