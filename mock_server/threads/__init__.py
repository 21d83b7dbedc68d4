"""Threads and messages: the handlers and the objects of the Threads API."""

from .api import ThreadsAPI

__all__ = ["ThreadsAPI"]
