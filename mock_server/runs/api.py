"""The handlers of assistants, runs and run steps: validated call in, object (or event stream) out."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from starlette.responses import Response

from .. import errors
from ..objects import deleted_object, list_object, list_query, merged_within_limit
from ..responses import JSONResponse
from ..store import JSON, ListQuery, Versioned
from ..streaming import Streams
from ..threads import ThreadsAPI
from ..types import Call, Handler
from .formats import structured
from .machine import ACTIVE, RUN, STEP, STOP_STATUSES, Event, RunMachine, pace_data, snapshot
from .objects import assistant_object, count_tokens, finished_run, finished_step, message_text, run_object
from .pace import EXAMPLE, HEADER, INSTANT, Pace
from .replies import ReplyBook, ReplyRule, plan_for
from .sse import run_stream
from .tools import INCLUDE_CONTENT, search_settings, shown_step, tool_types

ASSISTANT = "assistant"
DEFAULT_POLL_AFTER_MS = 25
# The assistant of the runs lenient mode makes for ids it has not seen (made on first use, as any other).
PLACEHOLDER_ASSISTANT = "asst_placeholder"


class RunsAPI:
    def __init__(
        self,
        threads: ThreadsAPI,
        replies: ReplyBook,
        *,
        poll_after_ms: int = DEFAULT_POLL_AFTER_MS,
        pace: Pace = INSTANT,
        streams: Streams | None = None,
    ) -> None:
        self.threads = threads
        self.resources = threads.resources
        self.store = threads.store
        self.identity = threads.identity
        self.lenient = threads.lenient
        self.replies = replies
        self.poll_after_ms = poll_after_ms
        self.pace = pace
        self.machine = RunMachine(self.store, self.identity)
        self.streams = streams or Streams()

    def handlers(self) -> dict[str, Handler]:
        return {
            "listAssistants": self.list_assistants,
            "createAssistant": self.create_assistant,
            "getAssistant": self.get_assistant,
            "modifyAssistant": self.modify_assistant,
            "deleteAssistant": self.delete_assistant,
            "createThreadAndRun": self.create_thread_and_run,
            "listRuns": self.list_runs,
            "createRun": self.create_run,
            "getRun": self.get_run,
            "modifyRun": self.modify_run,
            "cancelRun": self.cancel_run,
            "submitToolOuputsToRun": self.submit_tool_outputs,
            "listRunSteps": self.list_run_steps,
            "getRunStep": self.get_run_step,
        }

    async def refuse_message_during_run(self, project: str, thread_id: str) -> None:
        """The hook createMessage calls: one lookup, and a refusal while a run is active on the thread (none
        in lenient mode: the message joins the thread, and the run answers what it was started on)."""
        if self.lenient:
            return
        active = await self.store.get_record(project, ACTIVE, thread_id)
        if active is not None:
            raise errors.active_run_blocks_message(thread_id, active["run_id"])

    # Assistants

    async def _assistant(self, project: str, assistant_id: str) -> JSON:
        found = await self.store.get_record(project, ASSISTANT, assistant_id)
        if found is None and self.lenient:
            found = assistant_object(assistant_id, self.identity.now(), {}, {})
            await self.store.put_record(project, ASSISTANT, assistant_id, found)
        if found is None:
            raise errors.not_found("assistant", assistant_id)
        return found

    async def list_assistants(self, call: Call) -> JSON:
        page = await self.store.list_records(call.project, ASSISTANT, "", list_query(call))
        return list_object(page.items, page.has_more)

    async def create_assistant(self, call: Call) -> JSON:
        resources = await self.resources.resolved(call.project, call.body.get("tool_resources"))
        assistant = assistant_object(self.identity.new_id("asst"), self.identity.now(), call.body, resources)
        await self.store.put_record(call.project, ASSISTANT, assistant["id"], assistant)
        return assistant

    async def get_assistant(self, call: Call) -> JSON:
        return await self._assistant(call.project, call.path["assistant_id"])

    async def modify_assistant(self, call: Call) -> JSON:
        assistant_id = call.path["assistant_id"]
        body = call.body
        await self._assistant(call.project, assistant_id)
        resources = body.get("tool_resources")
        if resources is not None:
            resources = await self.resources.resolved(call.project, resources)

        def change(assistant: JSON) -> JSON:
            for key in ("model", "name", "description", "instructions", "tools", "temperature", "top_p"):
                if key in body and (body[key] is not None or key in ("name", "description", "instructions")):
                    assistant[key] = body[key]
            for key in ("reasoning_effort", "response_format"):
                if key in body:
                    assistant[key] = body[key] if body[key] is not None or key == "reasoning_effort" else "auto"
            if resources is not None:
                assistant["tool_resources"] = resources
            if "metadata" in body:
                assistant["metadata"] = merged_within_limit(assistant.get("metadata"), body["metadata"])
            return assistant

        updated = await self.store.update_record(call.project, ASSISTANT, assistant_id, change)
        if updated is None:
            raise errors.not_found("assistant", assistant_id)
        return updated

    async def delete_assistant(self, call: Call) -> JSON:
        assistant_id = call.path["assistant_id"]
        if not await self.store.delete_record(call.project, ASSISTANT, assistant_id) and not self.lenient:
            raise errors.not_found("assistant", assistant_id)
        return deleted_object(assistant_id, "assistant")

    # Runs

    def _answer(self, run: JSON) -> Response:
        headers = {}
        if run["status"] not in STOP_STATUSES:
            # The SDK's poll helper sleeps this long between retrieves: small keeps tests fast.
            headers["openai-poll-after-ms"] = str(self.poll_after_ms)
        return JSONResponse(run, headers=headers)

    async def _record(self, call: Call) -> Versioned:
        """The run's record, with the version its next write must find."""
        thread_id, run_id = call.path["thread_id"], call.path["run_id"]
        # The thread first: the runs of a deleted thread are gone with it, as its messages are.
        await self.threads.adopt_thread(call)
        await self.threads.require_thread(call)
        found = await self.store.read_record(call.project, RUN, run_id)
        if found is None and self.lenient:
            found = await self._placeholder(call.project, thread_id, run_id)
        # A run belongs to one thread, in lenient mode too: a known id under another thread is not found.
        if found is None or found.data["run"]["thread_id"] != thread_id:
            raise errors.not_found("run", run_id)
        return found

    async def _placeholder(self, project: str, thread_id: str, run_id: str) -> Versioned | None:
        """Lenient mode's run for an id it has not seen, stored (see `finished_run`), or the one another request
        stored meanwhile."""
        assistant = await self._assistant(project, PLACEHOLDER_ASSISTANT)
        run = finished_run(run_id, thread_id, self.identity.now(), assistant)
        record: JSON = {
            "run": run,
            "plan": {"outcome": "reply", "text": "", "quote": False},
            "hold": 0,
            "answer_at": 0.0,
            "pace": pace_data(INSTANT),
            "step_id": None,
            "usage": run["usage"],
            "prompt_tokens": 0,
            "log": None,
            "include_content": False,
        }
        await self.store.add_record(project, RUN, run_id, record, parent=thread_id)
        return await self.store.read_record(project, RUN, run_id)

    async def _start(
        self, call: Call, thread_id: str, assistant: JSON, resources: JSON | None = None
    ) -> tuple[Versioned, list[Event]]:
        """The run's record, stored: its plan from the reply rule, its tools' part in it. `resources`: the
        tool resources the request gives in place of the assistant's."""
        project, body = call.project, call.body
        page = await self.store.list_messages(project, thread_id, ListQuery(limit=100, order="desc"))
        messages = page.items if page is not None else []
        last_user = next((m for m in messages if m["role"] == "user"), None)
        text = message_text(last_user) if last_user is not None else ""
        run = run_object(self.identity.new_id("run"), thread_id, self.identity.now(), assistant, body)
        if resources is not None:
            run["tool_resources"] = resources
        header_pace = requested_pace(call)
        rule = self.replies.choose(text, assistant)
        plan = structured(plan_for(rule, text), run["response_format"])
        if plan["outcome"] == "reply":
            thread = await self.store.get_thread(project, thread_id)
            searched = [assistant["tool_resources"] if resources is None else resources]
            plan.update(await self._tools(project, run, text, rule, [*searched, thread and thread["tool_resources"]]))
        record: JSON = {
            "run": run,
            "plan": plan,
            "hold": 0 if rule is None else rule.polls,
            # Wall-clock time, even with --seed: it decides only when the run moves on, never what it says.
            "answer_at": time.time() + (0.0 if rule is None else rule.seconds),
            "pace": pace_data(self._pace(rule, header_pace, call)),
            "step_id": None,
            "usage": None,
            "prompt_tokens": sum(count_tokens(message_text(m)) for m in messages) + count_tokens(run["instructions"]),
            "log": [] if body.get("stream") else None,
            "include_content": call.query.get("include[]") == INCLUDE_CONTENT,
        }
        # Lenient mode ends the thread's active run, if any, in place of refusing this one.
        return await self.machine.start(project, record, supersede=self.lenient)

    async def _tools(
        self, project: str, run: JSON, query: str, rule: ReplyRule | None, resources: list[JSON | None]
    ) -> JSON:
        """What the run's built-in tools do before it answers (see tools.py): a file_search of the vector
        stores in `resources` (none to search, no search), or the results the rule scripts; the code_interpreter
        call the rule scripts. `tool_choice: none` calls no tool."""
        kinds = tool_types(run["tools"]) if run["tool_choice"] != "none" else set()
        planned: JSON = {}
        searching = True if rule is None else rule.file_search
        if "file_search" in kinds and searching is not False:
            settings = {**search_settings(run["tools"], run["model"]), "query": query}
            if isinstance(searching, list):
                planned["file_search"] = {**settings, "results": searching}
            elif stores := await self.resources.searchable(project, *resources):
                planned["file_search"] = {**settings, "stores": stores}
        if "code_interpreter" in kinds and rule is not None and rule.code_interpreter is not None:
            planned["code_interpreter"] = rule.code_interpreter
        return planned

    def _pace(self, rule: ReplyRule | None, header: str | None, call: Call) -> Pace:
        """The request's X-Mock-Pace over the reply rule's pace over the server's."""
        pace = self.pace if rule is None else rule.paced(self.pace)
        return pace if header is None else parsed_pace(header, pace)

    async def _respond(self, call: Call, held: Versioned, events: list[Event]) -> Response:
        if call.body.get("stream"):
            run_id = held.data["run"]["id"]
            return run_stream(self.streams, run_id, events, self.machine.drive(call.project, held))
        return self._answer(held.data["run"])

    async def create_run(self, call: Call) -> Response:
        thread_id = call.path["thread_id"]
        await self.threads.adopt_thread(call)
        await self.threads.require_thread(call)
        # Refused here before anything is written; the claim in `machine.start` is what makes it certain.
        active = None if self.lenient else await self.store.get_record(call.project, ACTIVE, thread_id)
        if active is not None:
            raise errors.active_run_blocks_run(thread_id, active["run_id"])
        assistant = await self._assistant(call.project, call.body["assistant_id"])
        additional = call.body.get("additional_messages") or []
        await self.threads.add_messages(call.project, thread_id, additional, "additional_messages[{}].attachments")
        held, events = await self._start(call, thread_id, assistant)
        return await self._respond(call, held, events)

    async def create_thread_and_run(self, call: Call) -> Response:
        body = call.body
        assistant = await self._assistant(call.project, body["assistant_id"])
        resources = None
        if body.get("tool_resources") is not None:
            resources = await self.resources.resolved(call.project, body["tool_resources"])
        thread = await self.threads.new_thread(call.project, body.get("thread") or {}, "thread.")
        held, events = await self._start(call, thread["id"], assistant, resources)
        return await self._respond(call, held, [("thread.created", thread), *events])

    async def list_runs(self, call: Call) -> JSON:
        await self.threads.adopt_thread(call)
        await self.threads.require_thread(call)
        page = await self.store.list_records(call.project, RUN, call.path["thread_id"], list_query(call))
        return list_object([record["run"] for record in page.items], page.has_more)

    async def get_run(self, call: Call) -> Response:
        held = await self._record(call)
        await self.machine.advance(call.project, held)
        return self._answer(held.data["run"])

    async def modify_run(self, call: Call) -> JSON:
        run_id = call.path["run_id"]
        metadata = call.body.get("metadata")

        def change(record: JSON) -> JSON:
            record["run"]["metadata"] = merged_within_limit(record["run"].get("metadata"), metadata)
            return record

        await self._record(call)
        updated = await self.store.update_record(call.project, RUN, run_id, change)
        if updated is None:
            raise errors.not_found("run", run_id)
        run: JSON = updated["run"]
        return run

    async def cancel_run(self, call: Call) -> Response:
        held = await self._record(call)
        await self.machine.cancel(call.project, held, lenient=self.lenient)
        return self._answer(held.data["run"])

    async def submit_tool_outputs(self, call: Call) -> Response:
        header = requested_pace(call)
        held = await self._record(call)
        pace = None if header is None else parsed_pace(header, self.pace)
        stream = bool(call.body.get("stream"))
        outputs = call.body["tool_outputs"]
        events = await self.machine.submit(call.project, held, outputs, pace=pace, stream=stream, lenient=self.lenient)
        if stream and not events:
            # Lenient mode, a run not waiting for outputs: left as it is, and a stream of it as it is.
            run = held.data["run"]
            first = [(f"thread.run.{run['status']}", snapshot(run))]
            return run_stream(self.streams, run["id"], first, no_more_events())
        return await self._respond(call, held, events)

    async def list_run_steps(self, call: Call) -> JSON:
        held = await self._record(call)
        page = await self.store.list_records(call.project, STEP, held.data["run"]["id"], list_query(call))
        include = call.query.get("include[]") == INCLUDE_CONTENT
        return list_object([shown_step(step, include) for step in page.items], page.has_more)

    async def get_run_step(self, call: Call) -> JSON:
        held = await self._record(call)
        run = held.data["run"]
        step_id = call.path["step_id"]
        step = await self.store.get_record(call.project, STEP, step_id)
        if step is None and self.lenient:
            made = finished_step(step_id, run, self.identity.now())
            step = await self.store.add_record(call.project, STEP, step_id, made, parent=run["id"]) or made
        if step is None or step["run_id"] != run["id"]:
            raise errors.not_found("run step", call.path["step_id"])
        return shown_step(step, call.query.get("include[]") == INCLUDE_CONTENT)


async def no_more_events() -> AsyncIterator[list[Event]]:
    """A stream's rest when its first events are all it has."""
    return
    yield  # an async generator that ends at once


def requested_pace(call: Call) -> str | None:
    """The X-Mock-Pace header, read before anything is written so that a bad one changes nothing."""
    header = call.header(HEADER)
    if header is not None:
        parsed_pace(header, INSTANT)
    return header


def parsed_pace(header: str, base: Pace) -> Pace:
    try:
        return Pace.parse(header, base)
    except ValueError as error:
        raise errors.invalid_pace_header(str(error), EXAMPLE) from None
