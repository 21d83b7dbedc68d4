"""Vector stores: their files and file batches, processed as clients poll, a BM25 search of their chunks, and
the tool resources of assistants and threads that name them."""

from .api import VectorStoresAPI
from .resources import ToolResources
from .search import search

__all__ = ["ToolResources", "VectorStoresAPI", "search"]
