"""Chunking and ranking: a vector store's files cut into chunks as their chunking strategy says, and the
chunks ranked against a query by BM25 (Okapi, with Lucene's always-positive idf).

Written here rather than taken from bm25s or rank-bm25: both need numpy (bm25s scipy too), some 60 MB beside
a mock whose other dependencies are small wheels, to score a few hundred chunks a query; the formula is ten
lines, and owning it keeps tokens, ties and scores exactly as documented. Runs reuse `search` for their
file_search tool calls.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..store import EVERYTHING, JSON, Store
from .objects import AUTO_CHUNKING

# Chunk tokens are words, as the mock counts tokens elsewhere (runs/objects.py); ranking terms are lowercase
# runs of letters and digits, so that "Refunds," finds "refunds".
WORD = re.compile(r"\S+")
TERM = re.compile(r"\w+")
K1 = 1.5
B = 0.75
VECTOR_STORE_FILE = "vector_store.file"
FILE = "file"


@dataclass(frozen=True)
class Chunk:
    file_id: str
    filename: str
    attributes: JSON
    text: str


def chunks_of(text: str, max_tokens: int, overlap: int) -> list[str]:
    """Windows of `max_tokens` words, each starting `max_tokens - overlap` words after the one before, the last
    reaching the end; each the text from its first word to its last, spacing kept."""
    words = [match.span() for match in WORD.finditer(text)]
    step = max(1, max_tokens - overlap)
    found = []
    for first in range(0, len(words), step):
        last = min(first + max_tokens, len(words)) - 1
        found.append(text[words[first][0] : words[last][1]])
        if last == len(words) - 1:
            break
    return found


def terms(text: str) -> list[str]:
    return TERM.findall(text.lower())


def bm25(query: Sequence[str], documents: Sequence[Sequence[str]]) -> list[float]:
    """Each document's Okapi BM25 score for the query terms."""
    if not documents:
        return []
    average = sum(map(len, documents)) / len(documents) or 1.0
    frequencies = [Counter(document) for document in documents]
    holding = Counter(term for counted in frequencies for term in counted)
    scores = []
    for document, counted in zip(documents, frequencies, strict=True):
        score = 0.0
        for term in query:
            tf = counted.get(term, 0)
            if tf:
                idf = math.log((len(documents) - holding[term] + 0.5) / (holding[term] + 0.5) + 1)
                score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(document) / average))
        scores.append(score)
    return scores


def matches(filters: JSON | None, attributes: JSON) -> bool:
    """A file's attributes against a comparison or compound filter (a missing key fails every comparison
    but `ne` and `nin`)."""
    if filters is None:
        return True
    kind = filters["type"]
    if kind in ("and", "or"):
        results = (matches(inner, attributes) for inner in filters["filters"])
        return all(results) if kind == "and" else any(results)
    key, wanted = filters["key"], filters["value"]
    if key not in attributes:
        return kind in ("ne", "nin")
    value = attributes[key]
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
        "in": lambda a, b: a in b,
        "nin": lambda a, b: a not in b,
    }
    try:
        return compare[kind](value, wanted)
    except TypeError:  # an order between a string and a number: no match, as no value satisfies it
        return False


async def chunks_in(store: Store, project: str, store_ids: Iterable[str], filters: JSON | None = None) -> list[Chunk]:
    """The chunks of the completed files of the vector stores whose attributes pass `filters`, in the
    stores' order and each store's file order."""
    found: list[Chunk] = []
    for store_id in store_ids:
        page = await store.list_records(project, VECTOR_STORE_FILE, store_id, EVERYTHING)
        for record in page.items:
            entry = record["file"]
            if entry["status"] != "completed" or not matches(filters, entry["attributes"]):
                continue
            text = await text_of(store, project, entry["id"])
            meta = await store.get_record(project, FILE, entry["id"])
            if text is None or meta is None:
                continue  # the file was deleted or evicted since
            static = entry["chunking_strategy"].get("static", AUTO_CHUNKING)
            for piece in chunks_of(text, static["max_chunk_size_tokens"], static["chunk_overlap_tokens"]):
                found.append(Chunk(entry["id"], meta["filename"], entry["attributes"], piece))
    return found


async def text_of(store: Store, project: str, file_id: str) -> str | None:
    """A file's bytes read as UTF-8 text (a byte that is not becomes U+FFFD), None when they are gone."""
    pieces = await store.read_blob(project, FILE, file_id)
    if pieces is None:
        return None
    return b"".join([piece async for piece in pieces]).decode("utf-8", "replace")


async def search(
    store: Store,
    project: str,
    store_ids: Sequence[str],
    query: str | Sequence[str],
    max_results: int,
    *,
    filters: JSON | None = None,
    score_threshold: float = 0.0,
) -> list[JSON]:
    """The best `max_results` chunks for the query, best first, as search results: a chunk's score is its
    BM25 score s as s / (1 + s), in [0, 1); chunks scoring 0 or under the threshold are left out; ties keep
    the chunks' order."""
    chunks = await chunks_in(store, project, store_ids, filters)
    wanted = terms(query if isinstance(query, str) else " ".join(query))
    scores = bm25(wanted, [terms(chunk.text) for chunk in chunks])
    ranked = sorted(range(len(chunks)), key=lambda i: -scores[i])
    results = []
    for i in ranked:
        score = scores[i] / (1 + scores[i])
        if scores[i] <= 0 or score < score_threshold:
            continue
        chunk = chunks[i]
        results.append(
            {
                "file_id": chunk.file_id,
                "filename": chunk.filename,
                "score": round(score, 6),
                "attributes": chunk.attributes,
                "content": [{"type": "text", "text": chunk.text}],
            }
        )
        if len(results) == max_results:
            break
    return results
