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
import re
import time

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
from ..objects import deleted_object, list_object
from ..runs.api import parsed_pace, requested_pace
from ..runs.objects import count_tokens, first_tokens
from ..runs.pace import INSTANT, Pace
from ..runs.replies import ReplyBook, ReplyRule, plan_for
from ..store import JSON, UPDATE_ATTEMPTS, Contention, ListQuery, page_of
from ..types import Call, Handler
from .kept import KeptResponses
from .objects import FINISHED_KEYS, response_object, unfinished, usage_object
from .stream import stream_response

WORD = re.compile(r"\S+")
# A response has no `expired` status: a rule that expires a run fails a response, with this error.
EXPIRED = {"code": "server_error", "message": "The response expired before it could complete."}


class ResponsesAPI:
    def __init__(self, conversations: ConversationsAPI, replies: ReplyBook, *, pace: Pace = INSTANT) -> None:
        self.conversations = conversations
        self.store = conversations.store
        self.kept = KeptResponses(self.store)
        self.identity = conversations.identity
        self.lenient = conversations.lenient
        self.replies = replies
        self.pace = pace

    def handlers(self) -> dict[str, Handler]:
        return {
            "createResponse": self.create_response,
            "getResponse": self.get_response,
            "deleteResponse": self.delete_response,
            "cancelResponse": self.cancel_response,
            "listInputItems": self.list_input_items,
        }

    async def _record(self, project: str, response_id: str) -> JSON:
        found = await self.kept.get(project, response_id)
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
            found = None if previous is None else await self.kept.get(project, previous)
        return [item for part in reversed(parts) for item in part]

    async def create_response(self, call: Call) -> JSON | Response:
        project, body = call.project, call.body
        header = requested_pace(call)
        reference, previous_id = body.get("conversation"), body.get("previous_response_id")
        if reference is not None and previous_id is not None and not self.lenient:
            raise errors.conversation_with_previous_response()
        if body.get("prompt") is not None and not self.lenient:
            # The mock keeps no prompts (they are made in the dashboard only): any id is unknown.
            raise errors.prompt_not_found(body["prompt"]["id"])
        conversation_id = reference if isinstance(reference, str) or reference is None else reference["id"]
        context: list[JSON] = []
        if previous_id is not None:
            previous = await self.adopted(project, previous_id)
            if previous is None:
                raise errors.previous_response_not_found(previous_id)
            context = await self._chain(project, previous)
        if conversation_id is not None:
            await self.conversations.conversation(project, conversation_id)
            context = await self.conversations.items(project, conversation_id)
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
        instructions = body.get("instructions") or ""
        prompt_tokens = sum(count_tokens(item_text(item)) for item in everything) + count_tokens(instructions)
        if response["background"] and not response["store"]:
            raise errors.background_needs_store()
        self._answer(response, plan, prompt_tokens, new_id)
        wait = self._wait(rule, header, response)
        for item in response["output"]:
            if item["type"] == "function_call":
                await self.kept.remember_call(project, response["id"], item["call_id"], plan["then"])
        record: JSON = {
            "response": response,
            "input": inputs,
            "context": context if conversation_id is not None else None,
        }
        if body.get("stream"):
            # Decided and kept now, as a non-streamed response; the stream shows it at its pace.
            if response["store"]:
                await self.kept.put(project, record)
            await self._finished(project, record)
            pad = (
                None
                if (body.get("stream_options") or {}).get("include_obfuscation") is False
                else self.identity.padding
            )
            hold = 0.0 if rule is None else rule.seconds
            return stream_response(response, hold, self._pace(rule, header), pad)
        if response["background"]:
            # Answered at once, queued; polls move it on (see `_advance`) and the last one finishes it.
            record.update(
                response=unfinished(response, "queued"),
                pending={key: response[key] for key in FINISHED_KEYS},
                hold=0 if rule is None else rule.polls,
                answer_at=time.time() + wait,
            )
            await self.kept.put(project, record)
            queued: JSON = record["response"]
            return queued
        if wait > 0:
            await asyncio.sleep(wait)
        if response["store"]:
            await self.kept.put(project, record)
        await self._finished(project, record)
        return response

    async def _finished(self, project: str, record: JSON) -> None:
        """What a response does once it ends: a conversation gets its input and output (none if it failed)."""
        response = record["response"]
        conversation = response.get("conversation")
        if conversation is not None and response["status"] in ("completed", "incomplete"):
            await self.conversations.append(project, conversation["id"], [*record["input"], *response["output"]])

    async def _advance(self, project: str, response_id: str) -> JSON:
        """A background response one step further, as a poll sees it: queued, then in_progress, then (its
        rule's `polls` spent and its time come) finished. Written only if nobody wrote it meanwhile, so that
        one poll, and one only, finishes it."""
        for _ in range(UPDATE_ATTEMPTS):
            held = await self.kept.read(project, response_id)
            if held is None:
                raise errors.response_not_found(response_id)
            record = held.data
            response = record["response"]
            if response["status"] == "queued":
                response["status"] = "in_progress"
            elif response["status"] != "in_progress":
                return record
            elif record["hold"] > 0:
                record["hold"] -= 1
            elif time.time() >= record["answer_at"]:
                response.update(record.pop("pending"), service_tier="default")
                if response["status"] == "completed":
                    response["completed_at"] = self.identity.now()
            else:
                return record
            if await self.kept.replace(project, response_id, record, held.version) is not None:
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
            made = await self.kept.call(project, outputs[-1]["call_id"])
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
        reason = plan.get("reason")
        limit = response["max_output_tokens"]
        if reason is None and limit is not None and count_tokens(text) > limit:
            reason, text = "max_output_tokens", first_tokens(text, limit)
        elif reason is not None:
            text = first_tokens(text, max(1, count_tokens(text) // 2))
        status = "completed" if reason is None else "incomplete"
        message = message_item(new_id("msg"), "assistant", [output_text(text)], status)
        response.update(status=status, output=[message], usage=usage_object(prompt_tokens, count_tokens(text)))
        if reason is None:
            response["completed_at"] = now
        else:
            # Every reason a rule gives (max_completion_tokens, max_prompt_tokens) is the Responses API's one.
            response["incomplete_details"] = {"reason": "max_output_tokens"}

    def _pace(self, rule: ReplyRule | None, header: str | None) -> Pace:
        """The request's X-Mock-Pace over the reply rule's pace over the server's, as for a run."""
        pace = self.pace if rule is None else rule.paced(self.pace)
        return pace if header is None else parsed_pace(header, pace)

    def _wait(self, rule: ReplyRule | None, header: str | None, response: JSON) -> float:
        """How long after its start a response ends, on a run's clock: the rule's `seconds`, then the first
        delta at the pace's `first_delta`, the rest at its `deltas_per_second` (one a word)."""
        pace = self._pace(rule, header)
        words = sum(len(WORD.findall(item_text(item))) for item in response["output"])
        wait = (0.0 if rule is None else rule.seconds) + (pace.first_delta if words else 0.0)
        if pace.per_second > 0 and words > 1:
            wait += (words - 1) / pace.per_second
        return wait

    async def adopted(self, project: str, response_id: str) -> JSON | None:
        """The response's record; in lenient mode an unknown id gets a completed, empty response on first use."""
        found = await self.kept.get(project, response_id)
        if found is None and self.lenient:
            now = self.identity.now()
            response = response_object(response_id, now, {}, None)
            response.update(status="completed", completed_at=now, usage=usage_object(0, 0))
            found = {"response": response, "input": [], "context": None}
            await self.kept.put(project, found)
        return found

    async def adopt(self, project: str, response_id: str) -> None:
        if self.lenient:
            await self.adopted(project, response_id)

    async def get_response(self, call: Call) -> JSON:
        await self.adopt(call.project, call.path["response_id"])
        record = await self._advance(call.project, call.path["response_id"])
        response: JSON = record["response"]
        include = included(call.query)
        return {**response, "output": [shown(item, include) for item in response["output"]]}

    async def delete_response(self, call: Call) -> JSON:
        response_id = call.path["response_id"]
        await self.adopt(call.project, response_id)
        if not await self.kept.delete(call.project, response_id):
            raise errors.response_not_found(response_id)
        return deleted_object(response_id, "response")

    async def cancel_response(self, call: Call) -> JSON:
        """A background response still queued or in progress ends `cancelled` at once, with no output and no
        usage (as the recorded cancel of a queued one answered); a finished one, or one not made in the
        background, is refused."""
        project, response_id = call.project, call.path["response_id"]
        await self.adopt(project, response_id)
        for _ in range(UPDATE_ATTEMPTS):
            held = await self.kept.read(project, response_id)
            if held is None:
                raise errors.response_not_found(response_id)
            record = held.data
            response: JSON = record["response"]
            if self.lenient and (not response["background"] or response["status"] not in ("queued", "in_progress")):
                return response  # as lenient mode answers the cancel of a run that stopped: unchanged
            if not response["background"]:
                raise errors.cannot_cancel_response(None)
            if response["status"] not in ("queued", "in_progress"):
                raise errors.cannot_cancel_response(response["status"])
            record.pop("pending", None)
            response.update(status="cancelled", service_tier="default")
            if await self.kept.replace(project, response_id, record, held.version) is not None:
                return response
        raise Contention(f"response {response_id} changed under {UPDATE_ATTEMPTS} of its writes in a row")

    async def list_input_items(self, call: Call) -> JSON:
        """The items the response was made from: the chain's before its own input (a response made in a
        conversation lists its own input only), newest first unless asked otherwise."""
        project = call.project
        await self.adopt(project, call.path["response_id"])
        record = await self._record(project, call.path["response_id"])
        previous = record["response"]["previous_response_id"]
        earlier: list[JSON] = []
        if previous is not None:
            found = await self.kept.get(project, previous)
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
