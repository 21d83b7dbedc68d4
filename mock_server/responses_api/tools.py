"""A response's file_search: the Documents issue's vector stores searched as a run's file_search searches them
(`runs/tools.py:searched`, BM25 over the stores' chunks, or the results a reply rule scripts), shown as the
Responses API shows it.

A request whose `tools` hold a `file_search` (and whose `tool_choice` is not `none`, and whose reply rule does
not switch it off) searches its `vector_store_ids` for the last user message, at most `max_num_results`
(default 20), by `ranking_options.score_threshold` and `filters`. The output gets a `file_search_call` item
before the answer: `queries` (the text searched), `status` completed, `results` (`file_id`, `filename`,
`score`, `attributes`, `text`) kept, and shown only when `include` names `file_search_call.results`, as the
real API does. The answer quotes the best result when no rule wrote the reply, and cites it: a
`file_citation` annotation `{file_id, filename, index}`, `index` a character offset (the real citation sat
before the sentence's final period: 31 in "Travis's favorite food is pizza."); Responses citations have no
marker text in the answer, unlike a run's `【4:0†name】`.
"""

from __future__ import annotations

from ..conversations.items import NewId
from ..runs.replies import ReplyRule
from ..runs.tools import quoted
from ..types import JSON

FILE_SEARCH = "file_search"
DEFAULT_MAX_RESULTS = 20


def file_search_tool(tools: list[JSON]) -> tuple[int, JSON] | None:
    """The request's file_search tool and its index among the tools (the first, if several)."""
    return next(((index, tool) for index, tool in enumerate(tools) if tool.get("type") == FILE_SEARCH), None)


def search_settings(tool: JSON, query: str, rule: ReplyRule | None) -> JSON | None:
    """How `runs/tools.py:searched` searches for this response, its stores to be filled in; None: no search
    (the rule switched it off)."""
    searching = True if rule is None else rule.file_search
    if searching is False:
        return None
    ranking = tool.get("ranking_options") or {}
    settings: JSON = {
        "query": query,
        "max_results": tool.get("max_num_results") or DEFAULT_MAX_RESULTS,
        "ranking_options": {"score_threshold": float(ranking.get("score_threshold") or 0.0)},
        "filters": tool.get("filters"),
    }
    if isinstance(searching, list):
        settings["results"] = searching
    return settings


def file_search_item(item_id: str, query: str, results: list[JSON]) -> JSON:
    """The call as the output keeps it: its results in the Responses API's form (a run step's, renamed)."""
    return {
        "id": item_id,
        "type": "file_search_call",
        "status": "completed",
        "queries": [query],
        "results": [
            {
                "attributes": result.get("attributes") or {},
                "file_id": result["file_id"],
                "filename": result["file_name"],
                "score": result["score"],
                "text": quoted(result),
            }
            for result in results
        ],
    }


def searched_item(plan: JSON, new_id: NewId) -> JSON | None:
    """The plan's file_search_call item, with its own id, or None when the response did not search."""
    search = plan.get("file_search")
    if search is None:
        return None
    return file_search_item(new_id("fs"), search["query"], search["found"])


def citation(text: str, result: JSON) -> JSON:
    index = len(text) - 1 if text.endswith(".") else len(text)
    return {"type": "file_citation", "file_id": result["file_id"], "filename": result["filename"], "index": index}
