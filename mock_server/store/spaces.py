"""Where the Conversations and Responses families keep their objects: as the store's threads, each family in a
space of its project's own.

A conversation is a thread of the store under `space(project, CONVERSATIONS)`, its items that thread's
messages; a stored response is a thread (with no messages) under `space(project, RESPONSES)`. So every backend
bounds them as it bounds threads, with nothing added to its code or to the threads' path: least recently used
first under `--max-threads` (one count for all three), `--max-memory` (one conversation with its items, or one
response, holds at most a thread's share) and `--max-disk`, and a conversation's items under
`--max-thread-messages` (`add_message(..., most=N)`). A space is a project the API never names: a project is an
API key or an Azure name read from a header or a path, and neither carries the control character that starts a
space's suffix (HTTP refuses it in a header; only a Foundry project name percent-encoded into the path as
`%1F` could, which nothing sends).
"""

from __future__ import annotations

SEPARATOR = "\x1f"  # ASCII's unit separator
CONVERSATIONS = f"{SEPARATOR}conversations"
RESPONSES = f"{SEPARATOR}responses"


def space(project: str, family: str) -> str:
    """The project under which a family's objects of `project` are kept."""
    return project + family
