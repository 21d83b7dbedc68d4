"""Items, the unit of the Conversations and Responses APIs: made from what a request sends (an easy message,
a typed item), shown as the real API shows them (`include` decides some fields), and read for the reply rules.

An item keeps everything it was sent with, but inline data: an input image's URL and a file_search call's
results are stored and shown only when `include` asks for them, as the real API does; a file's inline
`file_data` is not kept at all (the real API answers it without its data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..types import JSON

IMAGE_URL = "message.input_image.image_url"
SEARCH_RESULTS = "file_search_call.results"
# The id prefix of each item type the mock serves: a function call and its output share one, as on the real API.
PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fc", "file_search_call": "fs"}
# Lenient mode keeps items of the types it does not serve as sent, under the real prefix where it is known.
OTHER_PREFIXES = {
    "reasoning": "rs",
    "web_search_call": "ws",
    "computer_call": "cu",
    "computer_call_output": "cu",
    "code_interpreter_call": "ci",
    "image_generation_call": "ig",
    "mcp_call": "mcp",
    "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctc",
}

# Makes an item's id from its prefix: a conversation's or a response's group decides the id's last 16 digits.
NewId = Callable[[str], str]


def output_text(text: str, annotations: list[JSON] | None = None) -> JSON:
    return {"type": "output_text", "annotations": annotations or [], "logprobs": [], "text": text}


def content_part(part: JSON) -> JSON:
    kind = part["type"]
    if kind == "input_image":
        return {
            "type": kind,
            "detail": part.get("detail") or "auto",
            "file_id": part.get("file_id"),
            "image_url": part.get("image_url"),
        }
    if kind == "input_file":
        kept = {"type": kind, "file_id": part.get("file_id")}
        for key in ("filename", "file_url"):
            if key in part:
                kept[key] = part[key]
        return kept
    if kind == "output_text":
        return output_text(part["text"], part.get("annotations"))
    return dict(part)


def message_item(item_id: str, role: str, parts: list[JSON], status: str = "completed") -> JSON:
    return {"id": item_id, "type": "message", "status": status, "content": parts, "role": role}


def new_item(param: JSON, new_id: NewId) -> JSON:
    """The stored item for one input item: its own id, status `completed`. A message's string content is one
    `input_text` part (`output_text` for the assistant's, as the model's own words are kept)."""
    kind = param.get("type") or "message"
    if kind not in PREFIXES:
        # Only lenient mode lets one through (the contract's OtherItemParam): kept as sent, with an id of ours.
        return {**param, "id": new_id(OTHER_PREFIXES.get(kind, "item")), "status": param.get("status") or "completed"}
    item_id = new_id(PREFIXES[kind])
    if kind == "message":
        role, content = param["role"], param["content"]
        if isinstance(content, str):
            parts = [output_text(content) if role == "assistant" else {"type": "input_text", "text": content}]
        else:
            parts = [content_part(part) for part in content]
        return message_item(item_id, role, parts)
    if kind == "function_call":
        return function_call_item(item_id, param["call_id"], param["name"], param["arguments"])
    if kind == "function_call_output":
        return {
            "id": item_id,
            "type": kind,
            "status": "completed",
            "call_id": param["call_id"],
            "output": [content_part(part) for part in param["output"]]
            if isinstance(param["output"], list)
            else param["output"],
        }
    return {
        "id": item_id,
        "type": kind,
        "status": param["status"],
        "queries": list(param["queries"]),
        "results": param.get("results"),
    }


def function_call_item(item_id: str, call_id: str, name: str, arguments: str, status: str = "completed") -> JSON:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


def shown(item: JSON, include: Iterable[str]) -> JSON:
    """The item as an answer shows it: an input image's URL and a file_search call's results only when
    `include` names them."""
    kind = item["type"]
    if kind == "message" and IMAGE_URL not in include:
        if any(part["type"] == "input_image" and part.get("image_url") for part in item["content"]):
            parts = [{**part, "image_url": None} if part["type"] == "input_image" else part for part in item["content"]]
            return {**item, "content": parts}
    elif kind == "file_search_call" and SEARCH_RESULTS not in include and item.get("results") is not None:
        return {**item, "results": None}
    return item


def included(query: JSON) -> set[str]:
    """The `include` values of a call, sent as `include=` or as the SDKs send them, `include[]=`."""
    return {*(query.get("include") or ()), *(query.get("include[]") or ())}


def item_text(item: JSON) -> str:
    """The words of an item the mock counts and matches: a message's text parts, a call's arguments, an output."""
    kind = item["type"]
    if kind == "message":
        return " ".join(
            part.get("text", "") for part in item["content"] if part["type"] in ("input_text", "output_text")
        )
    if kind == "function_call":
        return str(item["arguments"])
    if kind == "function_call_output":
        output = item["output"]
        return output if isinstance(output, str) else " ".join(p.get("text", "") for p in output)
    return ""


def last_user_text(items: list[JSON]) -> tuple[str, int]:
    """The text of the last user message, which the reply rules match, and its index (-1: none)."""
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if item["type"] == "message" and item["role"] == "user":
            return item_text(item), index
    return "", -1
