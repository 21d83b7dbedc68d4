"""Assistants, runs and run steps over HTTP: the status machine, reply rules, refusals and their doors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import orjson
import pytest

from mock_server import Settings
from mock_server.contract import Contract
from mock_server.server import BackgroundServer

from .helpers import HEADERS, TEXT_REPLY_EVENTS

Conforms = Callable[[httpx.Response, str], dict[str, Any]]


@pytest.fixture
def admin(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url.removesuffix("/v1"), timeout=10) as client:
        yield client


def assistant(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = api.post("/assistants", json={"model": "gpt-4o", **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def thread_with(api: httpx.Client, text: str) -> str:
    thread_id: str = api.post("/threads", json={"messages": [{"role": "user", "content": text}]}).json()["id"]
    return thread_id


def poll(api: httpx.Client, thread_id: str, run_id: str) -> list[dict[str, Any]]:
    """Every answer of a retrieve loop, until the run stops where the SDK's poller stops."""
    seen = []
    for _ in range(20):
        run: dict[str, Any] = api.get(f"/threads/{thread_id}/runs/{run_id}").json()
        seen.append(run)
        if run["status"] in ("requires_action", "cancelled", "completed", "failed", "expired", "incomplete"):
            return seen
    raise AssertionError(f"the run never stopped: {[r['status'] for r in seen]}")


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_a_run_goes_queued_in_progress_completed_one_status_per_retrieve(api: httpx.Client, conforms: Conforms) -> None:
    asst = assistant(api, instructions="Be brief.")
    thread_id = thread_with(api, "hello there")
    created = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]})
    run = conforms(created, "createRun")
    assert (run["status"], run["started_at"], run["instructions"]) == ("queued", None, "Be brief.")
    assert run["expires_at"] == run["created_at"] + 600
    assert created.headers["openai-poll-after-ms"].isdigit()

    answers = [api.get(f"/threads/{thread_id}/runs/{run['id']}") for _ in range(3)]
    bodies = [conforms(answer, "getRun") for answer in answers]
    assert [b["status"] for b in bodies] == ["in_progress", "completed", "completed"]
    assert "openai-poll-after-ms" in answers[0].headers and "openai-poll-after-ms" not in answers[1].headers
    done = bodies[1]
    assert done["started_at"] is not None and done["completed_at"] is not None and done["expires_at"] is None
    # Tokens are words: the prompt is the thread's messages and the instructions, the completion the reply.
    assert done["usage"] == {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}

    messages = conforms(api.get(f"/threads/{thread_id}/messages", params={"run_id": run["id"]}), "listMessages")
    [reply] = messages["data"]
    assert reply["content"][0]["text"]["value"] == 'You said: "hello there"'
    assert (reply["role"], reply["assistant_id"], reply["run_id"], reply["status"]) == (
        "assistant",
        asst["id"],
        run["id"],
        "completed",
    )
    steps = conforms(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps"), "listRunSteps")
    [step] = steps["data"]
    assert step["step_details"] == {"type": "message_creation", "message_creation": {"message_id": reply["id"]}}
    assert (step["status"], step["usage"]) == ("completed", done["usage"])
    assert conforms(api.get(f"/threads/{thread_id}/runs/{run['id']}/steps/{step['id']}"), "getRunStep") == step


def test_a_tool_call_waits_in_requires_action_and_answers_then(
    api: httpx.Client, admin: httpx.Client, conforms: Conforms
) -> None:
    rule = {"match": "weather", "tool_calls": [{"function": "get_weather", "arguments": {"city": "Paris"}}]}
    assert admin.post("/__mock__/replies", json={**rule, "then": "It is sunny in Paris."}).status_code == 201
    asst = assistant(api)
    thread_id = thread_with(api, "What is the weather in Paris?")
    run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]}).json()
    waiting = poll(api, thread_id, run["id"])[-1]
    assert waiting["status"] == "requires_action" and waiting["usage"] is None
    [call] = waiting["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    [step] = api.get(f"/threads/{thread_id}/runs/{run['id']}/steps").json()["data"]
    assert (step["type"], step["status"]) == ("tool_calls", "in_progress")

    submitted = api.post(
        f"/threads/{thread_id}/runs/{run['id']}/submit_tool_outputs",
        json={"tool_outputs": [{"tool_call_id": call["id"], "output": "22C"}]},
    )
    resumed = conforms(submitted, "submitToolOuputsToRun")
    assert (resumed["status"], resumed["required_action"], resumed["started_at"]) == (
        "queued",
        None,
        waiting["started_at"],
    )
    done = poll(api, thread_id, run["id"])[-1]
    assert done["status"] == "completed"
    steps = api.get(f"/threads/{thread_id}/runs/{run['id']}/steps", params={"order": "asc"}).json()["data"]
    assert [s["type"] for s in steps] == ["tool_calls", "message_creation"]
    assert steps[0]["status"] == "completed"
    assert steps[0]["step_details"]["tool_calls"][0]["function"]["output"] == "22C"
    assert done["usage"]["total_tokens"] == steps[0]["usage"]["total_tokens"] + steps[1]["usage"]["total_tokens"]
    assert api.get(f"/threads/{thread_id}/messages").json()["data"][0]["content"][0]["text"]["value"] == (
        "It is sunny in Paris."
    )


@pytest.mark.parametrize(
    ("rule", "status", "fields"),
    [
        (
            {"fail": {"code": "rate_limit_exceeded", "message": "You exceeded your current quota."}},
            "failed",
            {"last_error": {"code": "rate_limit_exceeded", "message": "You exceeded your current quota."}},
        ),
        ({"fail": True}, "failed", {"last_error": {"code": "server_error", "message": "Sorry, something went wrong."}}),
        ({"expired": True}, "expired", {"usage": None}),
        ({"incomplete": True}, "incomplete", {"incomplete_details": {"reason": "max_completion_tokens"}}),
    ],
)
def test_rules_end_runs_failed_expired_or_incomplete(
    api: httpx.Client, admin: httpx.Client, conforms: Conforms, rule: dict[str, Any], status: str, fields: Any
) -> None:
    admin.post("/__mock__/replies", json={"match": "boom", "reply": "one two three four", **rule}).raise_for_status()
    thread_id = thread_with(api, "boom")
    run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant(api)["id"]}).json()
    end = poll(api, thread_id, run["id"])[-1]
    conforms(api.get(f"/threads/{thread_id}/runs/{run['id']}"), "getRun")
    assert end["status"] == status
    assert {key: end[key] for key in fields} == fields
    if status == "failed":
        assert end["failed_at"] is not None and end["expires_at"] is None
    if status == "incomplete":
        message = api.get(f"/threads/{thread_id}/messages").json()["data"][0]
        assert (message["status"], message["content"][0]["text"]["value"]) == ("incomplete", "one two")
    # A finished run frees the thread.
    assert api.post(f"/threads/{thread_id}/messages", json={"role": "user", "content": "again"}).status_code == 200


def test_max_completion_tokens_cuts_the_reply_and_ends_incomplete(api: httpx.Client, admin: httpx.Client) -> None:
    long_reply = " ".join(f"w{i}" for i in range(300))
    admin.post("/__mock__/replies", json={"reply": long_reply}).raise_for_status()
    thread_id = thread_with(api, "tell me a long story")
    body = {"assistant_id": assistant(api)["id"], "max_completion_tokens": 256}
    run = api.post(f"/threads/{thread_id}/runs", json=body).json()
    end = poll(api, thread_id, run["id"])[-1]
    assert (end["status"], end["incomplete_details"]) == ("incomplete", {"reason": "max_completion_tokens"})
    assert end["usage"]["completion_tokens"] == 256
    text = api.get(f"/threads/{thread_id}/messages").json()["data"][0]["content"][0]["text"]["value"]
    assert text == " ".join(f"w{i}" for i in range(256))


def test_polls_holds_the_run_in_progress_and_times_uses_a_rule_up(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/__mock__/replies", json={"reply": "slow answer", "polls": 3, "times": 1}).raise_for_status()
    asst = assistant(api)
    thread_id = thread_with(api, "hi")
    run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]}).json()
    assert [r["status"] for r in poll(api, thread_id, run["id"])] == ["in_progress"] * 4 + ["completed"]
    second = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]}).json()
    assert [r["status"] for r in poll(api, thread_id, second["id"])] == ["in_progress", "completed"]
    texts = [m["content"][0]["text"]["value"] for m in api.get(f"/threads/{thread_id}/messages").json()["data"]]
    assert texts[:2] == ['You said: "hi"', "slow answer"]
    listed = admin.get("/__mock__/replies").json()["data"]
    assert listed == [
        {"match": None, "assistant": None, "polls": 3, "seconds": 0.0, "times": 1, "used": 1, "reply": "slow answer"}
    ]


def test_seconds_hold_the_run_in_progress_however_often_it_is_polled(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/__mock__/replies", json={"match": "patience", "reply": "Done.", "seconds": 600}).raise_for_status()
    admin.post("/__mock__/replies", json={"match": "brief", "reply": "Done.", "seconds": 0.3}).raise_for_status()
    asst = assistant(api)
    held = thread_with(api, "patience")
    run = api.post(f"/threads/{held}/runs", json={"assistant_id": asst["id"]}).json()
    statuses = [api.get(f"/threads/{held}/runs/{run['id']}").json()["status"] for _ in range(6)]
    assert statuses == ["in_progress"] * 6
    brief = thread_with(api, "brief")
    started = time.monotonic()
    run = api.post(f"/threads/{brief}/runs", json={"assistant_id": asst["id"]}).json()
    while (status := api.get(f"/threads/{brief}/runs/{run['id']}").json()["status"]) != "completed":
        assert status in ("queued", "in_progress")
        time.sleep(0.05)
    assert time.monotonic() - started >= 0.3  # it can end late on a busy machine, never early
    refused = admin.post("/__mock__/replies", json={"reply": "x", "seconds": -1})
    assert refused.status_code == 400 and "'seconds'" in refused.json()["error"]["message"]


def test_rules_can_be_limited_to_an_assistant_by_id_or_name(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/__mock__/replies", json=[{"assistant": "Pirate", "reply": "Arr!"}]).raise_for_status()
    pirate, plain = assistant(api, name="Pirate"), assistant(api, name="Plain")
    admin.post("/__mock__/replies", json={"assistant": plain["id"], "reply": "Good day."}).raise_for_status()
    answers = []
    for asst in (pirate, plain):
        thread_id = thread_with(api, "hello")
        run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]}).json()
        poll(api, thread_id, run["id"])
        answers.append(api.get(f"/threads/{thread_id}/messages").json()["data"][0]["content"][0]["text"]["value"])
    assert answers == ["Arr!", "Good day."]


def test_the_replies_door_refuses_bad_rules_and_reset_clears_them(admin: httpx.Client) -> None:
    for bad, reason in [
        ({"match": "("}, "'match' is not a regular expression"),
        ({"reply": 3}, "'reply' must be a string"),
        ({"fail": True, "expired": True}, "a rule has one outcome"),
        ({"tool_calls": []}, "'tool_calls' must be a non-empty list"),
        ({"then": "x"}, "'then' goes with 'tool_calls'"),
        ({"times": 0}, "'times' must be a whole number >= 1"),
        ({"colour": "red"}, "unknown key 'colour'"),
        ([{"reply": "ok"}, {"fail": {"code": "nope"}}], "'fail.code' must be one of"),
    ]:
        error = error_of(admin.post("/__mock__/replies", json=bad), 400)
        assert error["message"].startswith(f"Invalid reply rule: {reason}"), error
        assert error["type"] == "mock_admin_error"
    assert admin.get("/__mock__/replies").json()["data"] == []
    admin.post("/__mock__/replies", json={"reply": "x"}).raise_for_status()
    admin.post("/__mock__/reset").raise_for_status()
    assert admin.get("/__mock__/replies").json()["data"] == []
    admin.post("/__mock__/replies", json={"reply": "x"}).raise_for_status()
    assert admin.delete("/__mock__/replies").json() == {"deleted": 1}


def test_refusals_word_for_word(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/__mock__/replies", json={"match": "tool", "tool_calls": [{"function": "f"}, {"function": "g"}]})
    asst = assistant(api)
    thread_id = thread_with(api, "use a tool")
    run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]}).json()
    expected = {"type": "invalid_request_error", "param": None, "code": None}

    error = error_of(api.post(f"/threads/{thread_id}/messages", json={"role": "user", "content": "x"}), 400)
    assert error == {**expected, "message": f"Can't add messages to {thread_id} while a run {run['id']} is active."}
    error = error_of(api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]}), 400)
    assert error == {**expected, "message": f"Thread {thread_id} already has an active run {run['id']}."}
    outputs = {"tool_outputs": [{"tool_call_id": "call_x", "output": "1"}]}
    submit = f"/threads/{thread_id}/runs/{run['id']}/submit_tool_outputs"
    error = error_of(api.post(submit, json=outputs), 400)
    assert error == {**expected, "message": 'Runs in status "queued" do not accept tool outputs.'}

    waiting = poll(api, thread_id, run["id"])[-1]
    first, second = (c["id"] for c in waiting["required_action"]["submit_tool_outputs"]["tool_calls"])
    error = error_of(api.post(submit, json={"tool_outputs": [{"tool_call_id": first, "output": "1"}]}), 400)
    assert error == {
        **expected,
        "message": f"Expected tool outputs for call_ids ['{first}', '{second}'], got ['{first}']",
    }

    cancelling = api.post(f"/threads/{thread_id}/runs/{run['id']}/cancel")
    assert cancelling.json()["status"] == "cancelling" and cancelling.json()["cancelled_at"] is None
    cancelled = poll(api, thread_id, run["id"])[-1]
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] is not None
    [step] = api.get(f"/threads/{thread_id}/runs/{run['id']}/steps").json()["data"]
    assert step["status"] == "cancelled"
    error = error_of(api.post(f"/threads/{thread_id}/runs/{run['id']}/cancel"), 400)
    assert error == {**expected, "message": "Cannot cancel run with status 'cancelled'."}
    error = error_of(api.post(submit, json=outputs), 400)
    assert error == {**expected, "message": 'Runs in status "cancelled" do not accept tool outputs.'}


def test_unknown_ids_answer_404_in_the_envelope(api: httpx.Client, conforms: Conforms) -> None:
    thread_id = thread_with(api, "hi")
    missing = "asst_abcdefghijklmnopqrstuvwx"
    for response, op_id, message in [
        (api.get(f"/assistants/{missing}"), "getAssistant", f"No assistant found with id '{missing}'."),
        (api.delete(f"/assistants/{missing}"), "deleteAssistant", f"No assistant found with id '{missing}'."),
        (
            api.post(f"/threads/{thread_id}/runs", json={"assistant_id": missing}),
            "createRun",
            f"No assistant found with id '{missing}'.",
        ),
        (api.get(f"/threads/{thread_id}/runs/run_nope"), "getRun", "No run found with id 'run_nope'."),
        (api.get("/threads/thread_nope/runs/run_nope"), "getRun", "No thread found with id 'thread_nope'."),
        (
            api.post("/threads/thread_nope/runs", json={"assistant_id": missing}),
            "createRun",
            "No thread found with id 'thread_nope'.",
        ),
    ]:
        assert conforms(response, op_id)["error"]["message"] == message
    run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant(api)["id"]}).json()
    other = thread_with(api, "other")
    # A run is found only under its own thread.
    assert api.get(f"/threads/{other}/runs/{run['id']}").status_code == 404
    response = api.get(f"/threads/{thread_id}/runs/{run['id']}/steps/step_nope")
    assert conforms(response, "getRunStep")["error"]["message"] == "No run step found with id 'step_nope'."


def test_lenient_mode_creates_unknown_assistants(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(mode="lenient")
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as api:
        created = api.post("/threads/runs", json={"assistant_id": "asst_made_up"})
        assert created.status_code == 200, created.text
        assert api.get("/assistants/asst_made_up").json()["model"] == "gpt-4o"


def test_assistants_crud_and_paging(api: httpx.Client, conforms: Conforms) -> None:
    made = [
        conforms(api.post("/assistants", json={"model": "gpt-4o", "name": f"a{i}"}), "createAssistant")
        for i in range(5)
    ]
    ids = [a["id"] for a in made]
    first = conforms(api.get("/assistants", params={"limit": 2, "order": "asc"}), "listAssistants")
    assert ([a["id"] for a in first["data"]], first["has_more"]) == (ids[:2], True)
    rest = api.get("/assistants", params={"limit": 10, "order": "asc", "after": first["last_id"]}).json()
    assert ([a["id"] for a in rest["data"]], rest["has_more"]) == (ids[2:], False)
    assert [a["id"] for a in api.get("/assistants").json()["data"]] == ids[::-1]
    changed = api.post(f"/assistants/{ids[0]}", json={"name": "renamed", "metadata": {"k": "v"}, "instructions": "Hi"})
    body = conforms(changed, "modifyAssistant")
    assert (body["name"], body["metadata"], body["instructions"], body["model"]) == (
        "renamed",
        {"k": "v"},
        "Hi",
        "gpt-4o",
    )
    assert conforms(api.get(f"/assistants/{ids[0]}"), "getAssistant") == body
    deleted = conforms(api.delete(f"/assistants/{ids[0]}"), "deleteAssistant")
    assert deleted == {"id": ids[0], "object": "assistant.deleted", "deleted": True}
    assert api.get(f"/assistants/{ids[0]}").status_code == 404
    error = error_of(api.post("/assistants", json={"name": "no model"}), 400)
    assert error["param"] == "model"


def test_runs_list_page_and_modify_run_merges_metadata(api: httpx.Client, conforms: Conforms) -> None:
    asst = assistant(api)
    thread_id = thread_with(api, "hi")
    ids = []
    for _ in range(3):
        run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]}).json()
        poll(api, thread_id, run["id"])
        ids.append(run["id"])
    page = conforms(api.get(f"/threads/{thread_id}/runs", params={"limit": 2}), "listRuns")
    assert ([r["id"] for r in page["data"]], page["has_more"]) == (ids[:0:-1], True)
    modified = api.post(f"/threads/{thread_id}/runs/{ids[0]}", json={"metadata": {"a": "1"}})
    assert conforms(modified, "modifyRun")["metadata"] == {"a": "1"}
    again = api.post(f"/threads/{thread_id}/runs/{ids[0]}", json={"metadata": {"b": "2"}}).json()
    assert again["metadata"] == {"a": "1", "b": "2"} and again["status"] == "completed"


def test_create_thread_and_run_with_additional_messages(api: httpx.Client, conforms: Conforms) -> None:
    asst = assistant(api)
    body = {"assistant_id": asst["id"], "thread": {"messages": [{"role": "user", "content": "first"}]}}
    run = conforms(api.post("/threads/runs", json=body), "createThreadAndRun")
    poll(api, run["thread_id"], run["id"])
    extra = {"assistant_id": asst["id"], "additional_messages": [{"role": "user", "content": "second"}]}
    second = api.post(f"/threads/{run['thread_id']}/runs", json=extra).json()
    poll(api, run["thread_id"], second["id"])
    texts = [m["content"][0]["text"]["value"] for m in api.get(f"/threads/{run['thread_id']}/messages").json()["data"]]
    assert texts == ['You said: "second"', "second", 'You said: "first"', "first"]


def event_names(branch: dict[str, Any]) -> list[str]:
    declared = branch["properties"]["event"]
    names: list[str] = declared.get("enum", [declared.get("const")])
    return names


def parse_sse(text: str, event_schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """The events of a stream, each checked against the contract: the wire form, then its JSON payload."""
    events = []
    checked: dict[int, Any] = {}

    def validate(instance: Any, schema: dict[str, Any]) -> None:
        # jsonschema.validate, with each schema checked against its metaschema once, not once per event.
        if id(schema) not in checked:
            kind = jsonschema.validators.validator_for(schema)
            kind.check_schema(schema)
            checked[id(schema)] = kind(schema)
        error = jsonschema.exceptions.best_match(checked[id(schema)].iter_errors(instance))
        if error is not None:
            raise error

    for block in text.split("\n\n"):
        if not block:
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        name, data = lines["event"], lines["data"]
        validate({"event": name, "data": data}, event_schema)
        if data == "[DONE]":
            events.append((name, data))
            continue
        [branch] = [b for b in event_schema["oneOf"] if name in event_names(b)]
        payload = orjson.loads(data)
        validate(payload, branch["properties"]["data"]["contentSchema"])
        events.append((name, payload))
    return events


def test_a_streamed_run_sends_the_real_events_and_ends_like_a_polled_one(
    start_server: Callable[..., BackgroundServer], contract: Contract
) -> None:
    event_schema = contract.schema("RunStreamEvent")
    states = []
    for stream in (True, False):
        server = start_server(seed=5)
        with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as api:
            asst = assistant(api)
            body = {"assistant_id": asst["id"], "thread": {"messages": [{"role": "user", "content": "hi you"}]}}
            response = api.post("/threads/runs", json={**body, "stream": stream})
            if stream:
                assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
                events = parse_sse(response.text, event_schema)
                deltas_at = TEXT_REPLY_EVENTS.index("thread.message.delta")
                assert [name for name, _ in events] == [
                    "thread.created",
                    *TEXT_REPLY_EVENTS[:deltas_at],
                    *["thread.message.delta"] * 4,
                    *TEXT_REPLY_EVENTS[deltas_at + 1 :],
                    "done",
                ]
                deltas = [d["delta"]["content"][0]["text"]["value"] for n, d in events if n == "thread.message.delta"]
                assert "".join(deltas) == events[-4][1]["content"][0]["text"]["value"] == 'You said: "hi you"'
                run_id, thread_id = events[1][1]["id"], events[0][1]["id"]
            else:
                run_id, thread_id = response.json()["id"], response.json()["thread_id"]
                poll(api, thread_id, run_id)
            states.append(
                (
                    api.get(f"/threads/{thread_id}/runs/{run_id}").json(),
                    api.get(f"/threads/{thread_id}/messages").json(),
                    api.get(f"/threads/{thread_id}/runs/{run_id}/steps").json(),
                )
            )
    assert states[0] == states[1]


def test_the_same_seed_gives_the_same_bodies(start_server: Callable[..., BackgroundServer]) -> None:
    def program(server: BackgroundServer) -> list[Any]:
        with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as api:
            asst = assistant(api, name="Bot")
            thread_id = thread_with(api, "hello")
            run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]}).json()
            return [asst, run, poll(api, thread_id, run["id"]), api.get(f"/threads/{thread_id}/messages").json()]

    assert program(start_server(seed=42)) == program(start_server(seed=42))
    assert program(start_server(seed=42)) != program(start_server(seed=43))


def test_replies_from_the_toml_config_survive_reset(
    tmp_path: Path, start_server: Callable[..., BackgroundServer]
) -> None:
    config = tmp_path / "mock.toml"
    config.write_text(
        '[[replies]]\nmatch = "ping"\nreply = "pong"\n\n'
        '[[replies]]\nmatch = "weather"\nthen = "Sunny."\n'
        'tool_calls = [{function = "get_weather", arguments = {city = "Paris"}}]\n',
        encoding="utf-8",
    )
    server = start_server(**vars(Settings.load({"config": config})) | {"port": 0})
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as api:
        root = server.base_url.removesuffix("/v1")
        assert [r["match"] for r in httpx.get(f"{root}/__mock__/replies").json()["data"]] == ["ping", "weather"]
        httpx.post(f"{root}/__mock__/reset").raise_for_status()
        asst = assistant(api)
        thread_id = thread_with(api, "ping")
        run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]}).json()
        poll(api, thread_id, run["id"])
        assert api.get(f"/threads/{thread_id}/messages").json()["data"][0]["content"][0]["text"]["value"] == "pong"


def test_the_poll_interval_is_configurable(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(poll_after_ms=7)
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as api:
        thread_id = thread_with(api, "hi")
        created = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant(api)["id"]})
        assert created.headers["openai-poll-after-ms"] == "7"
        assert api.get(f"/threads/{thread_id}/runs/{created.json()['id']}").headers["openai-poll-after-ms"] == "7"


def test_runs_keep_their_state_in_the_sqlite_store(
    tmp_path: Path, start_server: Callable[..., BackgroundServer]
) -> None:
    server = start_server(store=f"sqlite:{tmp_path / 'runs.db'}")
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as api:
        rule = {"match": "weather", "tool_calls": [{"function": "get_weather"}], "then": "Sunny.", "polls": 1}
        httpx.post(f"{server.base_url.removesuffix('/v1')}/__mock__/replies", json=rule).raise_for_status()
        asst = assistant(api)
        thread_id = thread_with(api, "weather?")
        run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst["id"]}).json()
        assert api.post(f"/threads/{thread_id}/messages", json={"role": "user", "content": "x"}).status_code == 400
        statuses = [r["status"] for r in poll(api, thread_id, run["id"])]
        assert statuses == ["in_progress", "in_progress", "requires_action"]
        call_id = api.get(f"/threads/{thread_id}/runs/{run['id']}").json()["required_action"]["submit_tool_outputs"][
            "tool_calls"
        ][0]["id"]
        outputs = {"tool_outputs": [{"tool_call_id": call_id, "output": "ok"}]}
        api.post(f"/threads/{thread_id}/runs/{run['id']}/submit_tool_outputs", json=outputs).raise_for_status()
        assert poll(api, thread_id, run["id"])[-1]["status"] == "completed"
        assert api.get(f"/assistants/{asst['id']}").json() == asst
        steps = api.get(f"/threads/{thread_id}/runs/{run['id']}/steps", params={"order": "asc"}).json()["data"]
        assert [(s["type"], s["status"]) for s in steps] == [
            ("tool_calls", "completed"),
            ("message_creation", "completed"),
        ]
        assert api.get(f"/threads/{thread_id}/messages").json()["data"][0]["content"][0]["text"]["value"] == "Sunny."


def test_the_runs_of_a_deleted_thread_are_gone_with_it(api: httpx.Client) -> None:
    thread_id = thread_with(api, "hi")
    run = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant(api)["id"]}).json()
    poll(api, thread_id, run["id"])
    assert api.delete(f"/threads/{thread_id}").status_code == 200
    for path in (f"/runs/{run['id']}", f"/runs/{run['id']}/steps", "/runs"):
        gone = api.get(f"/threads/{thread_id}{path}")
        assert gone.status_code == 404
        assert gone.json()["error"]["message"] == f"No thread found with id '{thread_id}'."
