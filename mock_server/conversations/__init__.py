"""The Conversations API: conversations and their items, kept as the store's threads in a space of their own."""

from .api import ConversationsAPI

__all__ = ["ConversationsAPI"]
