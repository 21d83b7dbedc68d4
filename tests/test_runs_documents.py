"""file_search and code_interpreter in runs, over HTTP: tool resources that must name what exists, attachments
that join their thread's resources, the search step and the cited answer (polled and streamed, with and
without `include[]`), scripted results and code, and a stream watched by pollers ending once. Every answer
is checked against the contract."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest

from mock_server import MockApp, Settings, create_app
from mock_server.files.objects import png
from mock_server.runs.tools import INCLUDE_CONTENT
from mock_server.server import BackgroundServer

from .helpers import HEADERS, SHARED_SSL, uploaded

Conforms = Callable[[httpx.Response, str], dict[str, Any]]
REFUNDS = b"Refunds are paid within 30 days of a return. Keep the receipt: the refund needs it."
WEATHER = b"The forecast says sun all week, with a light wind from the west."
FILE_SEARCH = [{"type": "file_search"}]
MARKER = "【4:0†refunds.txt】"


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer[MockApp]]:
    with BackgroundServer(create_app(Settings(poll_after_ms=5))) as running:
        yield running


@pytest.fixture
def api(server: BackgroundServer[MockApp]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10, verify=SHARED_SSL) as client:
        yield client


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def reply_rule(server: BackgroundServer[MockApp], **rule: Any) -> None:
    httpx.post(f"{server.base_url.removesuffix('/v1')}/__mock__/replies", json=rule).raise_for_status()


def store_of(api: httpx.Client, *contents: tuple[str, bytes]) -> tuple[str, list[str]]:
    """A vector store of these files, and their ids."""
    file_ids = [uploaded(api, content, name) for name, content in contents]
    return ok(api.post("/vector_stores", json={"file_ids": file_ids}))["id"], file_ids


def searcher(api: httpx.Client, *contents: tuple[str, bytes]) -> tuple[dict[str, Any], list[str]]:
    """An assistant with the file_search tool and a vector store of these files (refunds.txt if none), and
    the files' ids."""
    store_id, file_ids = store_of(api, *(contents or [("refunds.txt", REFUNDS)]))
    resources = {"file_search": {"vector_store_ids": [store_id]}}
    body = {"model": "gpt-4o", "tools": FILE_SEARCH, "tool_resources": resources}
    return ok(api.post("/assistants", json=body)), file_ids


def finished(api: httpx.Client, thread_id: str, run_id: str) -> dict[str, Any]:
    for _ in range(20):
        run = ok(api.get(f"/threads/{thread_id}/runs/{run_id}"))
        if run["status"] not in ("queued", "in_progress"):
            return run
    raise AssertionError("the run never stopped")


def run_on(api: httpx.Client, assistant_id: str, text: str, **thread: Any) -> tuple[dict[str, Any], str]:
    """A run on a new thread whose one message is `text`, polled to its end, and its thread's id."""
    thread_id = ok(api.post("/threads", json={"messages": [{"role": "user", "content": text}], **thread}))["id"]
    run = ok(api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant_id}))
    return finished(api, thread_id, run["id"]), thread_id


def answer_of(api: httpx.Client, thread_id: str) -> dict[str, Any]:
    message: dict[str, Any] = ok(api.get(f"/threads/{thread_id}/messages"))["data"][0]
    assert message["role"] == "assistant"
    return message


def events(text: str) -> list[tuple[str, Any]]:
    found = []
    for block in text.strip().split("\n\n"):
        name, data = (line.split(": ", 1)[1] for line in block.splitlines())
        found.append((name, data if data == "[DONE]" else orjson.loads(data)))
    return found


def test_a_run_with_file_search_searches_its_stores_and_cites_the_best_chunk(
    api: httpx.Client, conforms: Conforms
) -> None:
    assistant, (refunds, _) = searcher(api, ("refunds.txt", REFUNDS), ("weather.txt", WEATHER))
    run, thread_id = run_on(api, assistant["id"], "How long until my refund is paid?")
    assert run["status"] == "completed"

    steps = conforms(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps", params={"order": "asc"}), "listRunSteps")
    searched, answered = steps["data"]
    assert (searched["type"], searched["status"], answered["type"]) == ("tool_calls", "completed", "message_creation")
    (call,) = searched["step_details"]["tool_calls"]
    assert call["id"].startswith("call_") and call["type"] == "file_search"
    assert call["file_search"]["ranking_options"] == {"ranker": "default_2024_08_21", "score_threshold": 0.0}
    best = call["file_search"]["results"][0]
    assert (best["file_id"], best["file_name"], best["attributes"]) == (refunds, "refunds.txt", {})
    assert 0 < best["score"] < 1 and "content" not in best  # the chunks only when include[] asks
    path = f"/threads/{thread_id}/runs/{run['id']}/steps/{searched['id']}"
    included = conforms(api.get(path, params={"include[]": INCLUDE_CONTENT}), "getRunStep")
    content = included["step_details"]["tool_calls"][0]["file_search"]["results"][0]["content"]
    assert content == [{"type": "text", "text": REFUNDS.decode()}]
    # Percent-encoded inside the value, as the .NET client sent it.
    listed = ok(api.get(f"{path.rsplit('/', 1)[0]}?include%5B%5D={quote(INCLUDE_CONTENT, safe='')}"))
    assert listed["data"][-1]["step_details"]["tool_calls"][0]["file_search"]["results"][0]["content"] == content

    message = conforms(
        api.get(f"/threads/{thread_id}/messages/{answered['step_details']['message_creation']['message_id']}"),
        "getMessage",
    )
    (part,) = message["content"]
    text = part["text"]["value"]
    assert text == REFUNDS.decode() + MARKER
    (annotation,) = part["text"]["annotations"]
    assert annotation == {
        "type": "file_citation",
        "text": MARKER,
        "start_index": len(REFUNDS),
        "end_index": len(REFUNDS) + len(MARKER),
        "file_citation": {"file_id": refunds},
    }
    assert text[annotation["start_index"] : annotation["end_index"]] == annotation["text"]
    # Each step's usage counts in the run's.
    total = sum(step["usage"]["total_tokens"] for step in steps["data"])
    assert run["usage"]["total_tokens"] == total


def test_the_stream_sends_the_search_step_then_the_cited_answer(api: httpx.Client, conforms: Conforms) -> None:
    assistant, (refunds,) = searcher(api)
    for include in (False, True):
        thread_id = ok(api.post("/threads", json={"messages": [{"role": "user", "content": "refund receipt?"}]}))["id"]
        params = {"include[]": INCLUDE_CONTENT} if include else {}
        body = {"assistant_id": assistant["id"], "stream": True}
        streamed = events(api.post(f"/threads/{thread_id}/runs", params=params, json=body).text)
        names = [name for name, _ in streamed]
        deltas = names.count("thread.message.delta")
        # The order the real API streamed a file_search run in (openai-files-vector-stores-facts.md).
        assert names == [
            "thread.run.created",
            "thread.run.queued",
            "thread.run.in_progress",
            "thread.run.step.created",
            "thread.run.step.in_progress",
            "thread.run.step.delta",
            "thread.run.step.completed",
            "thread.run.step.created",
            "thread.run.step.in_progress",
            "thread.message.created",
            "thread.message.in_progress",
            *["thread.message.delta"] * deltas,
            "thread.message.completed",
            "thread.run.step.completed",
            "thread.run.completed",
            "done",
        ]
        created, _, delta, completed = (data for _, data in streamed[3:7])
        assert created["step_details"] == {"type": "tool_calls", "tool_calls": []}
        (call,) = delta["delta"]["step_details"]["tool_calls"]
        assert (call["index"], call["type"], call["file_search"]["results"]) == (0, "file_search", [])
        (result,) = completed["step_details"]["tool_calls"][0]["file_search"]["results"]
        assert result["file_id"] == refunds and ("content" in result) is include
        # The marker arrives as a delta of its own, with its annotation (and the stream's empty quote).
        message_deltas = [data["delta"]["content"][0] for name, data in streamed if name == "thread.message.delta"]
        assert message_deltas[0]["text"]["annotations"] == []
        marker = message_deltas[-1]["text"]
        assert marker["value"] == MARKER
        assert marker["annotations"] == [
            {
                "index": 0,
                "type": "file_citation",
                "text": MARKER,
                "start_index": len(REFUNDS),
                "end_index": len(REFUNDS) + len(MARKER),
                "file_citation": {"file_id": refunds, "quote": ""},
            }
        ]
        final = next(data for name, data in streamed if name == "thread.message.completed")
        assert "".join(d["text"]["value"] for d in message_deltas) == final["content"][0]["text"]["value"]
        assert "quote" not in final["content"][0]["text"]["annotations"][0]["file_citation"]


def test_no_hit_answers_uncited_and_rules_switch_the_search_off_or_script_it(
    server: BackgroundServer[MockApp], api: httpx.Client
) -> None:
    assistant, (refunds,) = searcher(api)
    run, thread_id = run_on(api, assistant["id"], "penguins")  # no word of the file
    steps = ok(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps"))["data"]
    assert steps[-1]["step_details"]["tool_calls"][0]["file_search"]["results"] == []
    assert answer_of(api, thread_id)["content"][0]["text"] == {"value": 'You said: "penguins"', "annotations": []}

    reply_rule(server, match="^quiet refund", file_search=False)
    run, thread_id = run_on(api, assistant["id"], "quiet refund")
    steps = ok(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps"))["data"]
    assert [step["type"] for step in steps] == ["message_creation"]
    assert answer_of(api, thread_id)["content"][0]["text"]["annotations"] == []

    scripted = {"results": [{"file_id": refunds, "score": 0.9, "content": "Paid in a month."}]}
    reply_rule(server, match="^scripted", file_search=scripted)
    reply_rule(server, match="^written", reply="As the policy says.", file_search=scripted)
    run, thread_id = run_on(api, assistant["id"], "scripted")
    (call,) = ok(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps"))["data"][-1]["step_details"]["tool_calls"]
    assert call["file_search"]["results"] == [
        {"file_id": refunds, "file_name": "refunds.txt", "score": 0.9, "attributes": {}}
    ]
    assert answer_of(api, thread_id)["content"][0]["text"]["value"] == "Paid in a month." + MARKER
    run, thread_id = run_on(api, assistant["id"], "written")
    (part,) = answer_of(api, thread_id)["content"]
    assert part["text"]["value"] == "As the policy says." + MARKER
    assert part["text"]["annotations"][0]["start_index"] == len("As the policy says.")

    # An assistant without the tool never searches, whatever the rules say.
    plain = ok(api.post("/assistants", json={"model": "gpt-4o", "tool_resources": assistant["tool_resources"]}))
    run, thread_id = run_on(api, plain["id"], "scripted refund")
    assert [s["type"] for s in ok(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps"))["data"]] == [
        "message_creation"
    ]


def test_attachments_join_the_thread_s_resources_and_its_runs_search_them(
    api: httpx.Client, conforms: Conforms
) -> None:
    refunds, weather, data = uploaded(api, REFUNDS, "refunds.txt"), uploaded(api, WEATHER), uploaded(api)
    thread_id = ok(api.post("/threads"))["id"]
    searched = [{"type": "file_search"}]
    first = {"role": "user", "content": "Read this.", "attachments": [{"file_id": refunds, "tools": searched}]}
    conforms(api.post(f"/threads/{thread_id}/messages", json=first), "createMessage")
    thread = conforms(api.get(f"/threads/{thread_id}"), "getThread")
    (store_id,) = thread["tool_resources"]["file_search"]["vector_store_ids"]
    store = ok(api.get(f"/vector_stores/{store_id}"))
    assert (store["file_counts"]["completed"], store["expires_after"]) == (1, {"anchor": "last_active_at", "days": 7})
    both = [{"type": "code_interpreter"}, {"type": "file_search"}]
    second = {
        "role": "user",
        "content": "And these: when is my refund paid?",
        "attachments": [
            {"file_id": weather, "tools": both},
            {"file_id": data, "tools": [{"type": "code_interpreter"}]},
        ],
    }
    conforms(api.post(f"/threads/{thread_id}/messages", json=second), "createMessage")
    thread = ok(api.get(f"/threads/{thread_id}"))
    assert thread["tool_resources"] == {
        "code_interpreter": {"file_ids": [weather, data]},
        "file_search": {"vector_store_ids": [store_id]},  # the same store, one a thread
    }
    in_store = [f["id"] for f in ok(api.get(f"/vector_stores/{store_id}/files", params={"order": "asc"}))["data"]]
    assert in_store == [refunds, weather]
    refused = {"role": "user", "content": "x", "attachments": [{"file_id": "file-nope", "tools": searched}]}
    error = conforms(api.post(f"/threads/{thread_id}/messages", json=refused), "createMessage")["error"]
    assert (error["message"], error["param"]) == ("No file found with id 'file-nope'.", "attachments[0].file_id")

    assistant = ok(api.post("/assistants", json={"model": "gpt-4o", "tools": FILE_SEARCH}))  # no store of its own
    run = ok(api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant["id"]}))
    assert finished(api, thread_id, run["id"])["status"] == "completed"
    annotation = answer_of(api, thread_id)["content"][0]["text"]["annotations"][0]
    assert annotation["file_citation"]["file_id"] == refunds


def test_a_scripted_code_interpreter_call_makes_a_downloadable_image(
    server: BackgroundServer[MockApp], api: httpx.Client, conforms: Conforms
) -> None:
    code = {
        "input": "plt.bar([1, 2], [3, 4]); plt.savefig('/mnt/data/chart.png')",
        "logs": "saved",
        "image": "chart.png",
    }
    reply_rule(server, match="^chart", reply="Here is the chart.", code_interpreter=code)
    assistant = ok(api.post("/assistants", json={"model": "gpt-4o", "tools": [{"type": "code_interpreter"}]}))
    run, thread_id = run_on(api, assistant["id"], "chart please")
    steps = conforms(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps", params={"order": "asc"}), "listRunSteps")
    (call,) = steps["data"][0]["step_details"]["tool_calls"]
    assert call["type"] == "code_interpreter" and call["code_interpreter"]["input"] == code["input"]
    logs, image = call["code_interpreter"]["outputs"]
    assert logs == {"type": "logs", "logs": "saved"} and image["type"] == "image"
    file_id = image["image"]["file_id"]
    made = conforms(api.get(f"/files/{file_id}"), "retrieveFile")
    assert (made["purpose"], made["filename"], made["bytes"]) == ("assistants_output", "chart.png", len(png()))
    download = api.get(f"/files/{file_id}/content")
    assert (download.content, download.headers["content-type"]) == (png(), "image/png")

    text, picture = answer_of(api, thread_id)["content"]
    link = "sandbox:/mnt/data/chart.png"
    assert text["text"]["value"] == f"Here is the chart.\n\n[chart.png]({link})"
    (annotation,) = text["text"]["annotations"]
    assert annotation["type"] == "file_path" and annotation["file_path"] == {"file_id": file_id}
    assert text["text"]["value"][annotation["start_index"] : annotation["end_index"]] == link == annotation["text"]
    assert picture == {"type": "image_file", "image_file": {"file_id": file_id}}

    # Streamed: the code's step deltas (announced, input, outputs), then the text and the image as parts.
    thread_id = ok(api.post("/threads", json={"messages": [{"role": "user", "content": "chart again"}]}))["id"]
    streamed = events(
        api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant["id"], "stream": True}).text
    )
    step_deltas = [
        data["delta"]["step_details"]["tool_calls"][0] for name, data in streamed if name == "thread.run.step.delta"
    ]
    assert [sorted(d["code_interpreter"]) for d in step_deltas] == [["input", "outputs"], ["input"], ["outputs"]]
    assert [o["index"] for o in step_deltas[-1]["code_interpreter"]["outputs"]] == [0, 1]
    parts = [data["delta"]["content"][0] for name, data in streamed if name == "thread.message.delta"]
    assert parts[-1]["index"] == 1 and parts[-1]["type"] == "image_file"
    assert {part["index"] for part in parts[:-1]} == {0}
    assert len(ok(api.get("/files", params={"purpose": "assistants_output"}))["data"]) == 2  # one image a run


def test_tool_resources_name_what_exists_and_lenient_mode_makes_it(
    api: httpx.Client, conforms: Conforms, start_server: Callable[..., BackgroundServer[MockApp]]
) -> None:
    unknown = {"tool_resources": {"file_search": {"vector_store_ids": ["vs_missing"]}}}
    error = conforms(api.post("/assistants", json={"model": "gpt-4o", **unknown}), "createAssistant")["error"]
    assert error == {
        "message": "No vector store found with id 'vs_missing'.",
        "type": "invalid_request_error",
        "param": "tool_resources.file_search.vector_store_ids[0]",
        "code": None,
    }
    assistant = ok(api.post("/assistants", json={"model": "gpt-4o"}))
    error = conforms(api.post(f"/assistants/{assistant['id']}", json=unknown), "modifyAssistant")["error"]
    assert error["param"] == "tool_resources.file_search.vector_store_ids[0]"
    run_body = {"assistant_id": assistant["id"], "thread": unknown}
    error = conforms(api.post("/threads/runs", json=run_body), "createThreadAndRun")["error"]
    assert error["param"] == "thread.tool_resources.file_search.vector_store_ids[0]"
    helper = {"file_search": {"vector_stores": [{"file_ids": [uploaded(api, REFUNDS, "refunds.txt")]}]}}
    made = ok(api.post("/assistants", json={"model": "gpt-4o", "tools": FILE_SEARCH, "tool_resources": helper}))
    (store_id,) = made["tool_resources"]["file_search"]["vector_store_ids"]
    assert ok(api.get(f"/vector_stores/{store_id}"))["expires_after"] is None  # an assistant's helper store stays
    _, thread_id = run_on(api, made["id"], "refund")
    assert answer_of(api, thread_id)["content"][0]["text"]["annotations"][0]["type"] == "file_citation"

    lenient = start_server(mode="lenient")
    with httpx.Client(base_url=lenient.base_url, headers=HEADERS, timeout=10, verify=SHARED_SSL) as client:
        named = {"file_search": {"vector_store_ids": ["vs_any"]}, "code_interpreter": {"file_ids": ["file-any"]}}
        created = ok(client.post("/threads", json={"tool_resources": named}))
        assert created["tool_resources"] == named
        assert ok(client.get("/vector_stores/vs_any"))["file_counts"]["total"] == 0


def test_reply_rules_check_their_tool_keys(server: BackgroundServer[MockApp]) -> None:
    door = f"{server.base_url.removesuffix('/v1')}/__mock__/replies"
    for rule, reason in [
        ({"file_search": "yes"}, "'file_search' must be true, false or"),
        ({"file_search": {"results": [{"score": 1}]}}, "needs a 'file_id'"),
        ({"file_search": {"results": [{"file_id": "file-a", "score": 2}]}}, "from 0 to 1"),
        ({"file_search": {"results": [{"file_id": "file-a", "page": 2}]}}, "unknown key in a file_search result"),
        ({"code_interpreter": {"logs": "x"}}, "with an 'input'"),
        ({"code_interpreter": {"input": "x", "image": "a/b.png"}}, "'code_interpreter.image'"),
        ({"code_interpreter": {"input": "x"}, "fail": True}, "'code_interpreter' goes with a reply, not with 'fail'"),
    ]:
        answer = httpx.post(door, json=rule)
        assert answer.status_code == 400 and reason in answer.json()["error"]["message"], (rule, answer.text)
    added = httpx.post(door, json={"match": "^listed$", "file_search": False, "code_interpreter": {"input": "1"}})
    described = added.json()
    assert described["file_search"] is False
    assert described["code_interpreter"] == {"input": "1", "logs": None, "image": None}


def test_a_paced_stream_and_ten_pollers_search_and_cite_once(
    server: BackgroundServer[MockApp], api: httpx.Client
) -> None:
    assistant, (refunds,) = searcher(api)
    thread_id = ok(api.post("/threads", json={"messages": [{"role": "user", "content": "refund?"}]}))["id"]

    async def scenario() -> list[str]:
        async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS, timeout=20) as client:
            started = asyncio.Event()
            run_id = ""

            async def poll() -> None:
                await started.wait()
                while (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()["status"] != "completed":
                    pass

            pollers = [asyncio.create_task(poll()) for _ in range(10)]
            names: list[str] = []
            body = {"assistant_id": assistant["id"], "stream": True}
            pace = {"X-Mock-Pace": "deltas_per_second=50"}
            async with client.stream("POST", f"/threads/{thread_id}/runs", json=body, headers=pace) as response:
                buffer = ""
                async for chunk in response.aiter_text():
                    buffer += chunk
                    while "\n\n" in buffer:
                        event, buffer = buffer.split("\n\n", 1)
                        names.append(event.split("\n", 1)[0].removeprefix("event: "))
                        if names[-1] == "thread.run.created":
                            run_id = orjson.loads(event.split("data: ", 1)[1])["id"]
                            started.set()
            await asyncio.gather(*pollers)
            return names

    names = asyncio.run(scenario())
    assert names.count("thread.run.step.created") == 2 and names.count("thread.run.completed") == 1
    run_id = ok(api.get(f"/threads/{thread_id}/runs"))["data"][0]["id"]
    steps = ok(api.get(f"/threads/{thread_id}/runs/{run_id}/steps"))["data"]
    assert sorted(step["type"] for step in steps) == ["message_creation", "tool_calls"]
    messages = [m for m in ok(api.get(f"/threads/{thread_id}/messages"))["data"] if m["role"] == "assistant"]
    (message,) = messages
    (annotation,) = message["content"][0]["text"]["annotations"]
    assert annotation["file_citation"]["file_id"] == refunds


def test_the_same_seed_gives_the_same_cited_answers_and_images(
    start_server: Callable[..., BackgroundServer[MockApp]],
) -> None:
    chart = {"match": "^chart", "code_interpreter": {"input": "plot()", "logs": "ok", "image": True}}

    def scenario() -> list[Any]:
        server = start_server(seed=11, replies=(chart,))
        with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10, verify=SHARED_SSL) as api:
            store_id, _ = store_of(api, ("refunds.txt", REFUNDS))
            tools = [*FILE_SEARCH, {"type": "code_interpreter"}]
            resources = {"file_search": {"vector_store_ids": [store_id]}}
            assistant = ok(
                api.post("/assistants", json={"model": "gpt-4o", "tools": tools, "tool_resources": resources})
            )
            seen = []
            for text in ("refunds?", "chart the refunds"):
                run, thread_id = run_on(api, assistant["id"], text)
                seen += [run, ok(api.get(f"/threads/{thread_id}/messages"))]
                seen.append(
                    ok(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps", params={"include[]": INCLUDE_CONTENT}))
                )
            seen.append(ok(api.get("/files")))
            return seen

    first, second = scenario(), scenario()
    assert first == second
    steps = first[-2]["data"]
    assert sorted(
        call["type"] for step in steps if step["type"] == "tool_calls" for call in step["step_details"]["tool_calls"]
    ) == ["code_interpreter", "file_search"]


def test_tool_choice_none_calls_no_tool_and_no_store_means_no_search(api: httpx.Client) -> None:
    assistant, _ = searcher(api)
    thread_id = ok(api.post("/threads", json={"messages": [{"role": "user", "content": "refunds?"}]}))["id"]
    run = ok(api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant["id"], "tool_choice": "none"}))
    finished(api, thread_id, run["id"])
    assert [s["type"] for s in ok(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps"))["data"]] == [
        "message_creation"
    ]
    storeless = ok(api.post("/assistants", json={"model": "gpt-4o", "tools": FILE_SEARCH}))
    run, thread_id = run_on(api, storeless["id"], "refunds?")
    assert [s["type"] for s in ok(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps"))["data"]] == [
        "message_creation"
    ]
