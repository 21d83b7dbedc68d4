"""The one error a fault description can raise, with a message that says what is wrong with it."""

from __future__ import annotations


class FaultSyntaxError(ValueError):
    """A fault rule or X-Mock-Fault value that cannot be understood."""
