"""The handlers of the Responses API: validated call in, response (or item list) out.

A response is a top-level record (kind `response`): `{"response": the object, "input": this request's items,
"context": the conversation's items before it (a response made in a conversation), "then": the reply its
function calls wait for}`. A response with `store: false` is answered and forgotten. The context a response
answers is the conversation's items or the chain of `previous_response_id` (each response's context, input
and output), then its own input; the reply rules (`runs/replies.py`) match the last user message in it, as
they match a thread's for a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from starlette.responses import Response

from .. import errors
from ..conversations import ConversationsAPI
from ..conversations.api import group_of
from ..conversations.items import (
    NewId,
    function_call_item,
    included,
    item_text,
    last_user_text,
    message_item,
    new_item,
    output_text,
    shown,
)
from ..errors import APIError
from ..objects import deleted_object, list_object
from ..runs.api import parsed_pace, requested_pace
from ..runs.formats import structured
from ..runs.objects import count_tokens, first_tokens
from ..runs.pace import INSTANT, Pace
from ..runs.replies import ReplyBook, ReplyRule, plan_for
from ..runs.tools import searched
from ..store import JSON, UPDATE_ATTEMPTS, Contention, ListQuery, page_of
from ..streaming import Streams, Watch
from ..types import Call, Handler
from ..vector_stores import ToolResources
from .objects import FINISHED_KEYS, response_object, unfinished, usage_object
from .stream import Drive, events, numbered, padded, timeline
from .tools import citation, file_search_tool, search_settings, searched_item

RESPONSE = "response"
# A function call a response made, by its call_id: the reply its output gets (the rule's `then`).
CALL = "response_call"
# The real API refuses to stream a response this many seconds old (see `_resume`).
STREAMABLE_SECONDS = 300
# A response has no `expired` status: a rule that expires a run fails a response, with this error.
EXPIRED = {"code": "server_error", "message": "The response expired before it could complete."}


class ResponsesAPI:
    def __init__(
        self,
        conversations: ConversationsAPI,
        resources: ToolResources,
        replies: ReplyBook,
        *,
        pace: Pace = INSTANT,
        streams: Streams | None = None,
    ) -> None:
        self.conversations = conversations
        self.resources = resources
        self.store = conversations.store
        self.identity = conversations.identity
        self.lenient = conversations.lenient
        self.replies = replies
        self.pace = pace
        self.streams = streams or Streams()
        # The responses a stream's driver in this process follows, woken by a cancel made here.
        self.watch = Watch()

    def handlers(self) -> dict[str, Handler]:
        return {
            "createResponse": self.create_response,
            "getResponse": self.get_response,
            "deleteResponse": self.delete_response,
            "cancelResponse": self.cancel_response,
            "listInputItems": self.list_input_items,
        }

    async def _record(self, project: str, response_id: str) -> JSON:
        found = await self.store.get_record(project, RESPONSE, response_id)
        if found is None:
            raise errors.response_not_found(response_id)
        return found

    async def _chain(self, project: str, record: JSON) -> list[JSON]:
        """The items a later response chained to this one starts from, oldest first: the response's own
        context (a conversation's items, or its predecessors'), input and output."""
        parts: list[list[JSON]] = []
        found: JSON | None = record
        while found is not None:
            parts.append([*found["input"], *found["response"]["output"]])
            if found.get("context") is not None:
                parts.append(found["context"])
                break
            previous = found["response"]["previous_response_id"]
            found = None if previous is None else await self.store.get_record(project, RESPONSE, previous)
        return [item for part in reversed(parts) for item in part]

    async def create_response(self, call: Call) -> JSON | Response:
        project, body = call.project, call.body
        header = requested_pace(call)
        reference, previous_id = body.get("conversation"), body.get("previous_response_id")
        if reference is not None and previous_id is not None:
            raise errors.conversation_with_previous_response()
        if body.get("prompt") is not None:
            # The mock keeps no prompts (they are made in the dashboard only): any id is unknown.
            raise errors.prompt_not_found(body["prompt"]["id"])
        conversation_id = reference if isinstance(reference, str) or reference is None else reference["id"]
        context: list[JSON] = []
        if previous_id is not None:
            previous = await self.store.get_record(project, RESPONSE, previous_id)
            if previous is None:
                raise errors.previous_response_not_found(previous_id)
            context = await self._chain(project, previous)
        if conversation_id is not None:
            await self.conversations.conversation(project, conversation_id)
            context = await self.conversations.items(project, conversation_id)
        search_tool = file_search_tool(body.get("tools") or [])
        if search_tool is not None:
            index, tool = search_tool
            for inner, store_id in enumerate(tool["vector_store_ids"]):
                await self.resources.vector_stores.known_store(
                    project, store_id, f"tools[{index}].vector_store_ids[{inner}]"
                )
        # A response's items share its id's last digits; in a conversation, the conversation's.
        group = group_of(conversation_id) if conversation_id is not None else self.identity.group()
        created_at = self.identity.now()
        response = response_object(
            self.identity.grouped_id("resp", created_at, group), created_at, body, conversation_id
        )
        new_id = self.conversations.id_maker(group)
        sent = body.get("input")
        params = [{"role": "user", "content": sent}] if isinstance(sent, str) else sent or []
        inputs = [new_item(param, new_id) for param in params]
        everything = [*context, *inputs]
        if not self.lenient:
            check_calls(everything)
        rule, plan = await self._plan(project, everything)
        plan = structured(plan, (body.get("text") or {}).get("format"))
        if search_tool is not None and plan["outcome"] == "reply" and body.get("tool_choice") != "none":
            await self._search(project, plan, search_tool[1], last_user_text(everything)[0], rule)
        instructions = body.get("instructions") or ""
        prompt_tokens = sum(count_tokens(item_text(item)) for item in everything) + count_tokens(instructions)
        if response["background"] and not response["store"]:
            raise errors.background_needs_store()
        self._answer(response, plan, prompt_tokens, new_id)
        start = time.time()
        hold = 0.0 if rule is None else rule.seconds
        places = [place for place, _ in events(response)]
        due = timeline(places, start, start + hold, self._pace(rule, header))
        if (response["background"] or body.get("stream")) and response["status"] == "completed":
            # Ended when its timeline ends, however late a poll finds it.
            response["completed_at"] = response["created_at"] + round(due[-1] - start)
        # What the client sees: a file_search call's results only when `include` asks for them.
        visible = shown_response(response, set(body.get("include") or ()))
        for item in response["output"]:
            if item["type"] == "function_call":
                await self.store.put_record(project, CALL, item["call_id"], {"then": plan["then"]})
        record: JSON = {
            "response": response,
            "input": inputs,
            "context": context if conversation_id is not None else None,
        }
        if body.get("stream") or response["background"]:
            return await self._unfinished(project, record, numbered(events(visible)), due, rule, body)
        if due[-1] > start:
            await asyncio.sleep(due[-1] - start)
        if response["store"]:
            await self.store.put_record(project, RESPONSE, response["id"], record)
        await self._finished(project, record)
        return visible

    async def _search(self, project: str, plan: JSON, tool: JSON, query: str, rule: ReplyRule | None) -> None:
        """The file_search the response makes before it answers, its results put in the plan (see tools.py)."""
        settings = search_settings(tool, query, rule)
        if settings is None:
            return
        if "results" not in settings:
            named = {"file_search": {"vector_store_ids": tool["vector_store_ids"]}}
            settings["stores"] = await self.resources.searchable(project, named)
        plan["file_search"] = {"query": query, "found": await searched(self.store, project, settings)}

    async def _unfinished(
        self, project: str, record: JSON, numbered: list[JSON], due: list[float], rule: ReplyRule | None, body: JSON
    ) -> JSON | Response:
        """A background or streamed response, stored before its end: queued (a background one not streamed,
        which polls move on), or in_progress, moved by its stream. A background one keeps its events, for a
        stream to replay them."""
        response = record["response"]
        streamed = bool(body.get("stream"))
        if response["store"]:
            background = response["background"]
            status = "queued" if background and not streamed else "in_progress"
            record.update(
                response=unfinished(response, status),
                pending={key: response[key] for key in FINISHED_KEYS},
                # A stream has no polls to spend, as a run's has none.
                hold=0 if streamed or rule is None else rule.polls,
                answer_at=due[-1],
            )
            if background:
                record.update(events=numbered, due=due)
            await self.store.put_record(project, RESPONSE, response["id"], record)
        if not streamed:
            queued: JSON = record["response"]
            return queued
        option = (body.get("stream_options") or {}).get("include_obfuscation")
        pad = self.identity.padding if option is True or (option is None and not response["background"]) else None
        if response["store"]:
            return self._stream(project, response["id"], padded(numbered, pad), due, 0)

        async def forgotten() -> None:
            await self._finished(project, {**record, "response": response})

        drive = Drive(padded(numbered, pad), due, start=0, finish=forgotten)
        return self.streams.respond(b"", drive.chunks(), drive.failed)

    def _stream(self, project: str, response_id: str, events: list[JSON], due: list[float], start: int) -> Response:
        """The stream of a stored response from event number `start`: ended by its driver when its last event
        is due (a background one stopped where a cancel cut its events)."""

        async def finish() -> None:
            with contextlib.suppress(APIError):  # deleted meanwhile: the stream still ends as it would have
                await self._advance(project, response_id, driven=True)

        async def kept() -> int:
            found = await self.store.get_record(project, RESPONSE, response_id)
            return len(events) if found is None or "events" not in found else len(found["events"])

        async def chunks() -> AsyncIterator[bytes]:
            with self.watch.watching(response_id) as woken:
                drive.woken = woken
                async for chunk in drive.chunks():
                    yield chunk

        background = bool(events) and events[0]["response"]["background"]
        drive = Drive(events, due, start=start, finish=finish, kept=kept if background else None)
        return self.streams.respond(b"", chunks(), drive.failed)

    async def _finished(self, project: str, record: JSON) -> None:
        """What a response does once it ends: a conversation gets its input and output (none if it failed)."""
        response = record["response"]
        conversation = response.get("conversation")
        if conversation is not None and response["status"] in ("completed", "incomplete"):
            await self.conversations.append(project, conversation["id"], [*record["input"], *response["output"]])

    async def _advance(self, project: str, response_id: str, *, driven: bool = False) -> JSON:
        """A background response one step further, as a poll sees it: queued, then in_progress, then (its
        rule's `polls` spent and its time come) finished; `driven` (a stream's driver): every step due, no
        polls to spend. Written only if nobody wrote it meanwhile, so that one move, and one only, ends it."""
        for _ in range(UPDATE_ATTEMPTS):
            held = await self.store.read_record(project, RESPONSE, response_id)
            if held is None:
                raise errors.response_not_found(response_id)
            record = held.data
            if not moved(record, driven):
                return record
            if await self.store.replace_record(project, RESPONSE, response_id, record, held.version) is not None:
                if "pending" not in record:
                    await self._finished(project, record)
                return record
        raise Contention(f"response {response_id} changed under {UPDATE_ATTEMPTS} of its writes in a row")

    async def _plan(self, project: str, items: list[JSON]) -> tuple[ReplyRule | None, JSON]:
        """The reply rule's plan for the last user message. Function outputs after it answer the calls a
        response made: the rule's `then` (looked up by the last call's id, however the output came back)."""
        text, index = last_user_text(items)
        outputs = [item for item in items[index + 1 :] if item["type"] == "function_call_output"]
        if outputs:
            made = await self.store.get_record(project, CALL, outputs[-1]["call_id"])
            if made is not None:
                return None, {"outcome": "reply", "text": made["then"]}
        rule = self.replies.choose(text, {})
        plan = plan_for(rule, text)
        if outputs and plan["outcome"] == "tool_calls":
            # Calls the client made up (or sent back from a forgotten response): answered, not called again.
            plan = {"outcome": "reply", "text": plan["then"]}
        return rule, plan

    def _answer(self, response: JSON, plan: JSON, prompt_tokens: int, new_id: NewId) -> None:
        """The response finished as the plan says: its output, status and usage."""
        now = self.identity.now()
        outcome = plan["outcome"]
        if outcome in ("fail", "expired"):
            response.update(status="failed", error=dict(plan["error"]) if outcome == "fail" else dict(EXPIRED))
            return
        if outcome == "tool_calls":
            calls = [
                function_call_item(new_id("fc"), self.identity.new_id("call"), c["name"], c["arguments"])
                for c in plan["calls"]
            ]
            completion = sum(count_tokens(c["arguments"]) for c in calls)
            response.update(status="completed", output=calls, completed_at=now)
            response["usage"] = usage_object(prompt_tokens, completion)
            return
        text: str = plan["text"]
        call = searched_item(plan, new_id)
        best = None if call is None or not call["results"] else call["results"][0]
        if best is not None and plan.get("quote") and best["text"]:
            text = best["text"]
        reason = plan.get("reason")
        limit = response["max_output_tokens"]
        if reason is None and limit is not None and count_tokens(text) > limit:
            reason, text = "max_output_tokens", first_tokens(text, limit)
        elif reason is not None:
            text = first_tokens(text, max(1, count_tokens(text) // 2))
        status = "completed" if reason is None else "incomplete"
        annotations = [] if best is None else [citation(text, best)]
        message = message_item(new_id("msg"), "assistant", [output_text(text, annotations)], status)
        output = [message] if call is None else [call, message]
        response.update(status=status, output=output, usage=usage_object(prompt_tokens, count_tokens(text)))
        if reason is None:
            response["completed_at"] = now
        else:
            # Every reason a rule gives (max_completion_tokens, max_prompt_tokens) is the Responses API's one.
            response["incomplete_details"] = {"reason": "max_output_tokens"}

    def _pace(self, rule: ReplyRule | None, header: str | None) -> Pace:
        """The request's X-Mock-Pace over the reply rule's pace over the server's, as for a run."""
        pace = self.pace if rule is None else rule.paced(self.pace)
        return pace if header is None else parsed_pace(header, pace)

    async def get_response(self, call: Call) -> JSON | Response:
        if call.query.get("stream") is True:
            return await self._resume(call)
        record = await self._advance(call.project, call.path["response_id"])
        return shown_response(record["response"], included(call.query))

    async def _resume(self, call: Call) -> Response:
        """`stream=true`: a background response's events after `starting_after` (all of them without it, as
        the SDK's `responses.stream(response_id=...)` asks, dropping those it saw itself), each when due."""
        project, response_id = call.project, call.path["response_id"]
        record = await self._record(project, response_id)
        if "events" not in record:
            raise errors.response_not_streamable()
        if time.time() - record["due"][0] > STREAMABLE_SECONDS:
            raise errors.response_too_old_to_stream()
        after = call.query.get("starting_after")
        start = 0 if after is None else max(0, after + 1)
        pad = self.identity.padding if call.query.get("include_obfuscation") is True else None
        return self._stream(project, response_id, padded(record["events"], pad), record["due"], start)

    async def delete_response(self, call: Call) -> JSON:
        response_id = call.path["response_id"]
        if not await self.store.delete_record(call.project, RESPONSE, response_id):
            raise errors.response_not_found(response_id)
        return deleted_object(response_id, "response")

    async def cancel_response(self, call: Call) -> JSON:
        """A background response still queued or in progress ends `cancelled` at once, with no output and no
        usage (as the recorded cancel of a queued one answered); a finished one, or one not made in the
        background, is refused."""
        project, response_id = call.project, call.path["response_id"]
        for _ in range(UPDATE_ATTEMPTS):
            held = await self.store.read_record(project, RESPONSE, response_id)
            if held is None:
                raise errors.response_not_found(response_id)
            record = held.data
            response: JSON = record["response"]
            if not response["background"]:
                raise errors.cannot_cancel_response(None)
            if response["status"] not in ("queued", "in_progress"):
                raise errors.cannot_cancel_response(response["status"])
            record.pop("pending", None)
            was = response["status"]
            response.update(status="cancelled", service_tier="default")
            if "events" in record:
                # Its streams (a replay too) end with the events it had made, never its end: a queued one's
                # first two, a running one's those due by now.
                due = record["due"]
                kept = 2 if was == "queued" else min(sum(at <= time.time() for at in due), len(due) - 1)
                record.update(events=record["events"][:kept], due=due[:kept])
            if await self.store.replace_record(project, RESPONSE, response_id, record, held.version) is not None:
                self.watch.wake(response_id)
                return response
        raise Contention(f"response {response_id} changed under {UPDATE_ATTEMPTS} of its writes in a row")

    async def list_input_items(self, call: Call) -> JSON:
        """The items the response was made from: the chain's before its own input (a response made in a
        conversation lists its own input only), newest first unless asked otherwise."""
        project = call.project
        record = await self._record(project, call.path["response_id"])
        previous = record["response"]["previous_response_id"]
        earlier: list[JSON] = []
        if previous is not None:
            found = await self.store.get_record(project, RESPONSE, previous)
            earlier = [] if found is None else await self._chain(project, found)
        items = {item["id"]: item for item in [*earlier, *record["input"]]}
        query = ListQuery(limit=call.query["limit"], order=call.query["order"], after=call.query.get("after"))
        chosen, has_more = page_of(list(items), query)
        include = included(call.query)
        return list_object([shown(items[item_id], include) for item_id in chosen], has_more)


def check_calls(items: list[JSON]) -> None:
    """Every function output answers a call before it, and every call has its output, as the real API refuses
    a context that breaks either (checked in the order the API reads the items)."""
    called: dict[str, bool] = {}
    for item in items:
        if item["type"] == "function_call":
            called.setdefault(item["call_id"], False)
        elif item["type"] == "function_call_output":
            if item["call_id"] not in called:
                raise errors.no_tool_call_for_output(item["call_id"])
            called[item["call_id"]] = True
    for call_id, answered in called.items():
        if not answered:
            raise errors.no_tool_output_for_call(call_id)


def moved(record: JSON, driven: bool) -> bool:
    """One poll's move of a stored response (a stream's driver's: every move due, no polls spent), made on
    `record`; False: nothing to do now."""
    response = record["response"]
    changed = False
    if response["status"] == "queued":
        response["status"] = "in_progress"
        changed = True
        if not driven:
            return True
    if response["status"] != "in_progress" or "pending" not in record:
        return changed
    if record["hold"] > 0 and not driven:
        record["hold"] -= 1
        return True
    if time.time() < record["answer_at"]:
        return changed
    response.update(record.pop("pending"), service_tier="default")
    return True


def shown_response(response: JSON, include: set[str]) -> JSON:
    """The response as an answer shows it: its items as `include` asks (see `conversations/items.py:shown`)."""
    return {**response, "output": [shown(item, include) for item in response["output"]]}
