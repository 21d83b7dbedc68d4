"""The run status machine: each step of a run, the objects it changes and the stream events it makes.

A run is kept as a record {"run": the run object, "plan": what it will do, "hold": polls left
in_progress, "step_id": its pending tool_calls step, "usage": tokens so far}. Every transition returns the
events the real API streamed for it, so a streamed run and a polled run go through the same code and end
in the same state; polling simply drops the events.
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

from ..ids import Identity
from ..objects import message_object
from ..store import JSON, Store
from .objects import (
    count_tokens,
    first_tokens,
    function_call,
    step_object,
    text_chunks,
    usage_object,
)

Event = tuple[str, JSON]
RUN = "run"
STEP = "step"
# A thread's active run, kept apart so that adding a message checks it with one lookup.
ACTIVE = "active_run"
ACTIVE_STATUSES = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
# Where the SDK's poll helper stops; a stream stops there too.
STOP_STATUSES = frozenset({"requires_action", "cancelled", "completed", "failed", "expired", "incomplete"})


def snapshot(obj: JSON) -> JSON:
    return copy.deepcopy(obj)


class RunMachine:
    def __init__(self, store: Store, identity: Identity) -> None:
        self.store = store
        self.identity = identity

    async def save(self, project: str, record: JSON) -> None:
        run = record["run"]
        await self.store.put_record(project, RUN, run["id"], record, parent=run["thread_id"])
        if run["status"] in ACTIVE_STATUSES:
            # Under its thread, so that it goes with the thread.
            await self.store.put_record(
                project, ACTIVE, run["thread_id"], {"run_id": run["id"]}, parent=run["thread_id"]
            )
        else:
            active = await self.store.get_record(project, ACTIVE, run["thread_id"])
            if active is not None and active["run_id"] == run["id"]:
                await self.store.delete_record(project, ACTIVE, run["thread_id"])

    async def save_step(self, project: str, step: JSON) -> None:
        await self.store.put_record(project, STEP, step["id"], step, parent=step["run_id"])

    def _status(self, record: JSON, status: str) -> Event:
        record["run"]["status"] = status
        return f"thread.run.{status}", snapshot(record["run"])

    async def start(self, project: str, record: JSON) -> list[Event]:
        await self.save(project, record)
        run = snapshot(record["run"])
        return [("thread.run.created", run), ("thread.run.queued", run)]

    async def advance(self, project: str, record: JSON) -> list[Event]:
        """One status further, as one retrieve of a polled run sees it."""
        run = record["run"]
        status = run["status"]
        events: list[Event] = []
        if status == "queued":
            if run["started_at"] is None:
                run["started_at"] = self.identity.now()
            events.append(self._status(record, "in_progress"))
        elif status == "in_progress":
            if record["hold"] > 0 or time.time() < record.get("hold_until", 0.0):
                record["hold"] = max(0, record["hold"] - 1)
                await self.save(project, record)
                return []
            events.extend(await self._finish(project, record))
        elif status == "cancelling":
            run["cancelled_at"] = self.identity.now()
            events.extend(await self._close_step(project, record, "cancelled"))
            events.append(self._status(record, "cancelled"))
        else:
            return []
        await self.save(project, record)
        return events

    async def run_to_stop(self, project: str, record: JSON) -> list[Event]:
        """Every transition until the run stops where a poller would: what a stream sends."""
        events: list[Event] = []
        while record["run"]["status"] not in STOP_STATUSES:
            if record["run"]["status"] == "in_progress":
                # A run held for some seconds keeps its stream open that long, as a slow model would.
                await asyncio.sleep(max(0.0, record.get("hold_until", 0.0) - time.time()))
            events.extend(await self.advance(project, record))
        return events

    async def _finish(self, project: str, record: JSON) -> list[Event]:
        plan = record["plan"]
        outcome = plan["outcome"]
        run = record["run"]
        if outcome == "tool_calls":
            return await self._call_tools(project, record)
        if outcome == "fail":
            run["failed_at"] = self.identity.now()
            run["expires_at"] = None
            run["last_error"] = dict(plan["error"])
            return [self._status(record, "failed")]
        if outcome == "expired":
            return [self._status(record, "expired")]
        return await self._answer(project, record)

    async def _answer(self, project: str, record: JSON) -> list[Event]:
        run, plan = record["run"], record["plan"]
        text: str = plan["text"]
        reason = plan.get("reason")
        limit = run.get("max_completion_tokens")
        if reason is None and limit is not None and count_tokens(text) > limit:
            reason = "max_completion_tokens"
            text = first_tokens(text, limit)
        elif reason is not None:
            text = first_tokens(text, max(1, count_tokens(text) // 2))
        message_id = self.identity.new_id("msg")
        step = step_object(
            self.identity.new_id("step"),
            run,
            self.identity.now(),
            {"type": "message_creation", "message_creation": {"message_id": message_id}},
        )
        message = message_object(
            message_id,
            run["thread_id"],
            self.identity.now(),
            {"role": "assistant", "content": []},
            assistant_id=run["assistant_id"],
            run_id=run["id"],
        )
        message.update(status="in_progress", completed_at=None)
        await self.save_step(project, step)
        events: list[Event] = [
            ("thread.run.step.created", snapshot(step)),
            ("thread.run.step.in_progress", snapshot(step)),
        ]
        events += [("thread.message.created", snapshot(message)), ("thread.message.in_progress", snapshot(message))]
        for index, chunk in enumerate(text_chunks(text)):
            part: JSON = {"index": 0, "type": "text", "text": {"value": chunk}}
            if index == 0:
                part["text"]["annotations"] = []
            events.append(
                (
                    "thread.message.delta",
                    {"id": message_id, "object": "thread.message.delta", "delta": {"content": [part]}},
                )
            )
        now = self.identity.now()
        message["content"] = [{"type": "text", "text": {"value": text, "annotations": []}}]
        completion = count_tokens(text)
        usage = usage_object(record["prompt_tokens"], completion)
        step.update(status="completed", completed_at=now, usage=usage)
        record["usage"] = add_usage(record.get("usage"), usage)
        run["usage"] = record["usage"]
        if reason is None:
            message.update(status="completed", completed_at=now)
            run.update(completed_at=now, expires_at=None)
            final = "completed"
        else:
            message.update(status="incomplete", incomplete_at=now, incomplete_details={"reason": "max_tokens"})
            run.update(incomplete_details={"reason": reason}, expires_at=None)
            final = "incomplete"
        await self.store.add_message(project, message)
        await self.save_step(project, step)
        events.append((f"thread.message.{final}", snapshot(message)))
        events.append(("thread.run.step.completed", snapshot(step)))
        events.append(self._status(record, final))
        return events

    async def _call_tools(self, project: str, record: JSON) -> list[Event]:
        run, plan = record["run"], record["plan"]
        calls = [function_call(self.identity.new_id("call"), c["name"], c["arguments"]) for c in plan["calls"]]
        step = step_object(
            self.identity.new_id("step"), run, self.identity.now(), {"type": "tool_calls", "tool_calls": []}
        )
        events: list[Event] = [
            ("thread.run.step.created", snapshot(step)),
            ("thread.run.step.in_progress", snapshot(step)),
        ]
        for index, call in enumerate(calls):
            first = {"index": index, **call, "function": {**call["function"], "arguments": ""}}
            rest = {"index": index, "type": "function", "function": {"arguments": call["function"]["arguments"]}}
            for item in (first, rest):
                delta = {"step_details": {"type": "tool_calls", "tool_calls": [item]}}
                events.append(
                    ("thread.run.step.delta", {"id": step["id"], "object": "thread.run.step.delta", "delta": delta})
                )
        step["step_details"]["tool_calls"] = calls
        await self.save_step(project, step)
        record["step_id"] = step["id"]
        record["plan"] = {"outcome": "reply", "text": plan["then"]}
        record["pending_completion"] = sum(count_tokens(c["function"]["arguments"]) for c in calls)
        run["required_action"] = {
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {
                "tool_calls": [
                    {**c, "function": {k: v for k, v in c["function"].items() if k != "output"}} for c in calls
                ]
            },
        }
        events.append(self._status(record, "requires_action"))
        return events

    async def submit(self, project: str, record: JSON, outputs: dict[str, str]) -> list[Event]:
        """Outputs accepted (the caller checked them): the tool step completes and the run is queued again."""
        run = record["run"]
        step = await self.store.get_record(project, STEP, record["step_id"])
        events: list[Event] = []
        if step is not None:
            for call in step["step_details"]["tool_calls"]:
                call["function"]["output"] = outputs.get(call["id"], "")
            usage = usage_object(record["prompt_tokens"], record.get("pending_completion", 0))
            step.update(status="completed", completed_at=self.identity.now(), usage=usage)
            record["usage"] = add_usage(record.get("usage"), usage)
            await self.save_step(project, step)
            events.append(("thread.run.step.completed", snapshot(step)))
        record["step_id"] = None
        run["required_action"] = None
        events.append(self._status(record, "queued"))
        await self.save(project, record)
        return events

    async def cancel(self, project: str, record: JSON) -> list[Event]:
        events = [self._status(record, "cancelling")]
        await self.save(project, record)
        return events

    async def _close_step(self, project: str, record: JSON, status: str) -> list[Event]:
        if record.get("step_id") is None:
            return []
        step = await self.store.get_record(project, STEP, record["step_id"])
        record["step_id"] = None
        if step is None:
            return []
        step.update(status=status, cancelled_at=self.identity.now())
        await self.save_step(project, step)
        return [(f"thread.run.step.{status}", snapshot(step))]


def add_usage(total: Any, usage: JSON) -> JSON:
    if not total:
        return dict(usage)
    return usage_object(
        total["prompt_tokens"] + usage["prompt_tokens"], total["completion_tokens"] + usage["completion_tokens"]
    )
