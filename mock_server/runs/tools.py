"""What a run's built-in tools do before it answers, as the real API's `tool_calls` steps showed them, and how
the answer cites what they found or made.

file_search: a run whose tools include it (and whose reply rule does not switch it off) searches the vector
stores of its assistant and its thread for the last user message (`vector_stores/search.py`, BM25), or takes
the results its rule scripts. Its answer quotes the best chunk (a rule's `reply` stays as written), followed
by the citation marker `【4:0†<file name>】`, which a `file_citation` annotation covers. With no result the
answer is the reply it would have been, uncited.

code_interpreter: a reply rule scripts the call (`input`, `logs`, `image`); its image is a PNG file of purpose
`assistants_output`, shown as an `image_file` part of the answer and linked from its text as
`sandbox:/mnt/data/<name>`, which a `file_path` annotation covers.

The text is streamed as its words, each marker and link in a delta of its own, with its annotation, as the
real stream sent a citation.
"""

from __future__ import annotations

import re
from typing import Any

from ..files import FILE
from ..store import JSON, Store
from ..vector_stores.search import search

# The value of `include[]` that adds the chunks' text to a file_search step's results.
INCLUDE_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
# The ranker the real steps showed (the assistant's tool takes `auto` too).
RANKER = "default_2024_08_21"
# The real API's default number of results: 20 for gpt-4 models (and later ones), 5 for gpt-3.5-turbo.
MAX_RESULTS = 20
MAX_RESULTS_GPT_35 = 5
# `4` numbered the search's output among the model's messages in every capture; the second number is the result's.
MARKER = "【4:{index}†{name}】"
SANDBOX = "sandbox:/mnt/data/{name}"
# A word and the whitespace before it, or whitespace at the end: pieces that join back to the whole text.
PIECE = re.compile(r"\s*\S+|\s+")


def tool_types(tools: list[JSON]) -> set[str]:
    return {tool.get("type", "") for tool in tools}


def search_settings(tools: list[JSON], model: str) -> JSON:
    """How the run's file_search tool searches: its number of results and ranking options, defaults filled in."""
    tool = next(tool for tool in tools if tool.get("type") == "file_search")
    options = tool.get("file_search") or {}
    default = MAX_RESULTS_GPT_35 if model.startswith("gpt-3.5") else MAX_RESULTS
    ranking = options.get("ranking_options") or {}
    return {
        "max_results": options.get("max_num_results") or default,
        "ranking_options": {"ranker": RANKER, "score_threshold": float(ranking.get("score_threshold", 0.0))},
    }


async def searched(store: Store, project: str, settings: JSON) -> list[JSON]:
    """A file_search's results, as a run step lists them: those its reply rule scripts (`results`), or what
    the vector stores (`stores`) hold for the `query`, at most `max_results`, by the ranking options and
    `filters`. A response's file_search_call reads them too (see `responses_api/tools.py`)."""
    scripted = settings.get("results")
    if scripted is not None:
        results = []
        for result in scripted:
            found = await store.get_record(project, FILE, result["file_id"])
            results.append(scripted_result(result, found["filename"] if found else result["file_id"]))
        return results
    hits = await search(
        store,
        project,
        settings["stores"],
        settings["query"],
        settings["max_results"],
        filters=settings.get("filters"),
        score_threshold=settings["ranking_options"]["score_threshold"],
    )
    return [search_result(hit) for hit in hits]


def search_result(hit: JSON) -> JSON:
    """A hit of `vector_stores.search` as a file_search step lists it."""
    return {
        "file_id": hit["file_id"],
        "file_name": hit["filename"],
        "score": hit["score"],
        "attributes": hit["attributes"],
        "content": hit["content"],
    }


def scripted_result(result: JSON, file_name: str) -> JSON:
    """A reply rule's result as a step lists it (`file_name`: the rule's, else the file's, else its id)."""
    content = result.get("content")
    return {
        "file_id": result["file_id"],
        "file_name": result.get("file_name") or file_name,
        "score": result["score"],
        "attributes": {},
        "content": [] if content is None else [{"type": "text", "text": content}],
    }


def quoted(result: JSON) -> str:
    """The text of a result's chunk ("" when it has none)."""
    return "".join(part.get("text", "") for part in result.get("content") or [])


def file_search_call(call_id: str, ranking_options: JSON, results: list[JSON]) -> JSON:
    return {
        "id": call_id,
        "type": "file_search",
        "file_search": {"ranking_options": dict(ranking_options), "results": results},
    }


def file_search_deltas(call: JSON) -> list[JSON]:
    """The one step delta the real stream sent: the call with its ranking options and no results yet."""
    search = call["file_search"]
    return [{"index": 0, **call, "file_search": {"ranking_options": search["ranking_options"], "results": []}}]


def code_interpreter_call(call_id: str, code: str, outputs: list[JSON]) -> JSON:
    return {"id": call_id, "type": "code_interpreter", "code_interpreter": {"input": code, "outputs": outputs}}


def code_interpreter_deltas(call: JSON) -> list[JSON]:
    """The call announced, then its input, then its outputs (each with its index), as the SDK accumulates them."""
    code = call["code_interpreter"]
    deltas = [
        {"index": 0, **call, "code_interpreter": {"input": "", "outputs": []}},
        {"index": 0, "type": "code_interpreter", "code_interpreter": {"input": code["input"]}},
    ]
    if code["outputs"]:
        outputs = [{"index": index, **output} for index, output in enumerate(code["outputs"])]
        deltas.append({"index": 0, "type": "code_interpreter", "code_interpreter": {"outputs": outputs}})
    return deltas


def shown_step(step: JSON, include_content: bool) -> JSON:
    """A step as an answer shows it: a file_search call's results without their chunks unless asked for."""
    if include_content or step["type"] != "tool_calls":
        return step
    calls = step["step_details"]["tool_calls"]
    if not any(call["type"] == "file_search" for call in calls):
        return step
    shown = [
        {**call, "file_search": {**call["file_search"], "results": stripped(call["file_search"].get("results"))}}
        if call["type"] == "file_search"
        else call
        for call in calls
    ]
    return {**step, "step_details": {**step["step_details"], "tool_calls": shown}}


def stripped(results: list[JSON] | None) -> list[JSON] | None:
    return None if results is None else [{k: v for k, v in result.items() if k != "content"} for result in results]


def cited_text(text: str, cited: JSON | None, image: JSON | None) -> tuple[str, list[JSON]]:
    """The answer's text and annotations: the citation marker of the result it quotes, then the link to the
    image the code made."""
    annotations: list[JSON] = []
    if cited is not None:
        marker = MARKER.format(index=0, name=cited["file_name"])
        annotations.append(annotation("file_citation", marker, len(text), cited["file_id"]))
        text += marker
    if image is not None:
        text += f"\n\n[{image['filename']}]("
        link = SANDBOX.format(name=image["filename"])
        annotations.append(annotation("file_path", link, len(text), image["id"]))
        text += link + ")"
    return text, annotations


def annotation(kind: str, span: str, at: int, file_id: str) -> JSON:
    """A `file_citation` or `file_path` annotation on `span`, which starts at `at` (end_index exclusive)."""
    return {"type": kind, "text": span, "start_index": at, "end_index": at + len(span), kind: {"file_id": file_id}}


def fitting(text: str, annotations: list[JSON]) -> list[JSON]:
    """The annotations still on the text once it was cut short (by a token limit or a cancel)."""
    return [a for a in annotations if text[a["start_index"] : a["end_index"]] == a["text"]]


def text_pieces(text: str, annotations: list[JSON]) -> tuple[list[str], list[int | None]]:
    """The deltas of a text: its words, and each annotated span whole; beside each, the index of the
    annotation it carries (None for most)."""
    pieces: list[str] = []
    marks: list[int | None] = []
    at = 0
    for index, annotation in sorted(enumerate(annotations), key=lambda pair: pair[1]["start_index"]):
        words = PIECE.findall(text[at : annotation["start_index"]])
        pieces += words
        marks += [None] * len(words)
        pieces.append(annotation["text"])
        marks.append(index)
        at = annotation["end_index"]
    words = PIECE.findall(text[at:])
    pieces += words
    marks += [None] * len(words)
    return (pieces, marks) if pieces else ([text], [None])


def streamed_annotation(index: int, annotation: JSON) -> JSON:
    """An annotation as a message delta carries it: with its index, a citation with an empty `quote` too."""
    streamed: dict[str, Any] = {"index": index, **annotation}
    if annotation["type"] == "file_citation":
        streamed["file_citation"] = {**annotation["file_citation"], "quote": ""}
    return streamed
