"""Domain error of the model package.

A wrong model name, an option that does not apply, or an input whose shape the
model cannot take is raised as :class:`ModelError` with a message that says
what was expected, what was found and what to do.
"""

from __future__ import annotations


class ModelError(ValueError):
    """A problem with a model's name, options or input, explained in the message."""
