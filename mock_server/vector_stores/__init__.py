"""Vector stores: their files and file batches, processed as clients poll, and a BM25 search of their chunks."""

from .api import VectorStoresAPI
from .search import search

__all__ = ["VectorStoresAPI", "search"]
