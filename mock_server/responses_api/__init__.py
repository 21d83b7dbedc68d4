"""The Responses API: responses made by the same reply rules as runs, alone, chained or in a conversation."""

from .api import ResponsesAPI

__all__ = ["ResponsesAPI"]
