"""Conversations and their items: the Conversations API's handlers, and the items it shares with the Responses API."""

from .api import CONVERSATION, ITEM, ConversationsAPI

__all__ = ["CONVERSATION", "ITEM", "ConversationsAPI"]
