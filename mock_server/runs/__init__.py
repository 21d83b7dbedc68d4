"""Assistants and runs: the objects, the run status machine, scripted replies and their event streams."""

from .api import RunsAPI
from .replies import ReplyBook, ReplyRule, parse_reply_rule

__all__ = ["ReplyBook", "ReplyRule", "RunsAPI", "parse_reply_rule"]
