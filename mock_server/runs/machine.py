"""The run status machine: each step of a run, the objects it changes and the stream events it makes.

A run is kept as a record {"run": the run object, "plan": what it will do, "hold": polls left
in_progress, "step_id": its pending tool_calls step, "usage": tokens so far}. Every transition returns the
events the real API streamed for it, so a streamed run and a polled run go through the same code and end
in the same state; polling simply drops the events.

A stream and a poll (or two polls, or a poll and a cancel) may move the same run at once. Each transition is
computed on the record as read, then written only if the record is still at that version: the write that
loses reads the record again and goes on from there, so a run makes each transition once. What a transition
adds beside the record (a run step, the assistant's message) is written after the record, by the one that won;
a thread's active-run marker is claimed with an insert-if-absent and released only while it names the run.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..ids import Identity
from ..store import JSON, UPDATE_ATTEMPTS, Contention, Store, Versioned
from ..threads.objects import message_object
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


@dataclass
class Effects:
    """A transition's result: its events, and the objects to write once the run's record is written."""

    events: list[Event]
    steps: list[JSON] = field(default_factory=list)
    message: JSON | None = None


# A transition changes the record it is given in place; None when there is nothing to do from that state.
Transition = Callable[[str, JSON], Awaitable[Effects | None]]


class RunMachine:
    def __init__(self, store: Store, identity: Identity) -> None:
        self.store = store
        self.identity = identity

    async def _move(self, project: str, held: Versioned, transition: Transition) -> list[Event]:
        """The transition applied to the record and written if nobody wrote it meanwhile; else done again on
        the record as it is now. `held` follows: the record and version written, or found."""
        run_id = held.data["run"]["id"]
        for _ in range(UPDATE_ATTEMPTS):
            outcome = await transition(project, held.data)
            if outcome is None:
                return []
            version = await self.store.replace_record(project, RUN, run_id, held.data, held.version)
            if version is not None:
                held.version = version
                await self._write_after(project, held.data, outcome)
                return outcome.events
            fresh = await self.store.read_record(project, RUN, run_id)
            if fresh is None:  # its thread went meanwhile
                raise errors.not_found("run", run_id)
            held.data, held.version = fresh.data, fresh.version
        raise Contention(f"run {run_id} changed under {UPDATE_ATTEMPTS} of its writes in a row")

    async def _write_after(self, project: str, record: JSON, outcome: Effects) -> None:
        for step in outcome.steps:
            await self.store.put_record(project, STEP, step["id"], step, parent=step["run_id"])
        if outcome.message is not None:
            await self.store.add_message(project, outcome.message)
        run = record["run"]
        if run["status"] not in ACTIVE_STATUSES:
            # Only while the marker still names this run: the thread may have gone, and a new run claimed it.
            marker = await self.store.read_record(project, ACTIVE, run["thread_id"])
            if marker is not None and marker.data["run_id"] == run["id"]:
                await self.store.delete_record(project, ACTIVE, run["thread_id"], version=marker.version)

    def _status(self, record: JSON, status: str) -> Event:
        record["run"]["status"] = status
        return f"thread.run.{status}", snapshot(record["run"])

    async def start(self, project: str, record: JSON) -> tuple[Versioned, list[Event]]:
        """Claims the thread for the run (refused while another run is active on it), then stores the run."""
        run = record["run"]
        # Under its thread, so that it goes with the thread.
        marker = {"run_id": run["id"]}
        active = await self.store.add_record(project, ACTIVE, run["thread_id"], marker, parent=run["thread_id"])
        if active is not None:
            raise errors.active_run_blocks_run(run["thread_id"], active["run_id"])
        version = await self.store.put_record(project, RUN, run["id"], record, parent=run["thread_id"])
        created = snapshot(run)
        return Versioned(record, version), [("thread.run.created", created), ("thread.run.queued", created)]

    async def advance(self, project: str, held: Versioned) -> list[Event]:
        """One status further, as one retrieve of a polled run sees it."""
        return await self._move(project, held, self._advance)

    async def _advance(self, project: str, record: JSON) -> Effects | None:
        run = record["run"]
        status = run["status"]
        if status == "queued":
            if run["started_at"] is None:
                run["started_at"] = self.identity.now()
            return Effects([self._status(record, "in_progress")])
        if status == "in_progress":
            if record["hold"] > 0:
                record["hold"] -= 1
                return Effects([])
            if time.time() < record.get("hold_until", 0.0):
                return None
            return await self._finish(project, record)
        if status == "cancelling":
            run["cancelled_at"] = self.identity.now()
            outcome = await self._close_step(project, record, "cancelled")
            outcome.events.append(self._status(record, "cancelled"))
            return outcome
        return None

    async def run_to_stop(self, project: str, held: Versioned) -> list[Event]:
        """Every transition until the run stops where a poller would: what a stream sends."""
        events: list[Event] = []
        while held.data["run"]["status"] not in STOP_STATUSES:
            if held.data["run"]["status"] == "in_progress":
                # A run held for some seconds keeps its stream open that long, as a slow model would.
                await asyncio.sleep(max(0.0, held.data.get("hold_until", 0.0) - time.time()))
            events.extend(await self.advance(project, held))
        run = held.data["run"]
        if not events or events[-1][0] != f"thread.run.{run['status']}":
            # A poll moved the run to its stop while the stream waited: the stream ends where the run is.
            events.append((f"thread.run.{run['status']}", snapshot(run)))
        return events

    async def _finish(self, project: str, record: JSON) -> Effects:
        plan = record["plan"]
        outcome = plan["outcome"]
        run = record["run"]
        if outcome == "tool_calls":
            return self._call_tools(record)
        if outcome == "fail":
            run["failed_at"] = self.identity.now()
            run["expires_at"] = None
            run["last_error"] = dict(plan["error"])
            return Effects([self._status(record, "failed")])
        if outcome == "expired":
            return Effects([self._status(record, "expired")])
        return self._answer(record)

    def _answer(self, record: JSON) -> Effects:
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
        events.append((f"thread.message.{final}", snapshot(message)))
        events.append(("thread.run.step.completed", snapshot(step)))
        events.append(self._status(record, final))
        return Effects(events, [step], message)

    def _call_tools(self, record: JSON) -> Effects:
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
        return Effects(events, [step])

    async def submit(self, project: str, held: Versioned, tool_outputs: list[JSON]) -> list[Event]:
        """The tool step completes and the run is queued again; refused unless the run waits for exactly these."""

        async def submitted(project: str, record: JSON) -> Effects:
            run = record["run"]
            if run["status"] != "requires_action":
                raise errors.run_refuses_tool_outputs(run["status"])
            expected = [c["id"] for c in run["required_action"]["submit_tool_outputs"]["tool_calls"]]
            outputs = {o.get("tool_call_id"): o.get("output", "") for o in tool_outputs}
            if any(call_id not in outputs for call_id in expected):
                got: list[Any] = [o.get("tool_call_id") for o in tool_outputs]
                raise errors.missing_tool_outputs(expected, got)
            step = await self.store.get_record(project, STEP, record["step_id"])
            done = Effects([])
            if step is not None:
                for call in step["step_details"]["tool_calls"]:
                    call["function"]["output"] = outputs.get(call["id"], "")
                usage = usage_object(record["prompt_tokens"], record.get("pending_completion", 0))
                step.update(status="completed", completed_at=self.identity.now(), usage=usage)
                record["usage"] = add_usage(record.get("usage"), usage)
                done = Effects([("thread.run.step.completed", snapshot(step))], [step])
            record["step_id"] = None
            run["required_action"] = None
            done.events.append(self._status(record, "queued"))
            return done

        return await self._move(project, held, submitted)

    async def cancel(self, project: str, held: Versioned) -> list[Event]:
        """The run goes cancelling (and cancelled at the next step); refused once it has stopped."""

        async def cancelled(project: str, record: JSON) -> Effects:
            status = record["run"]["status"]
            if status not in ("queued", "in_progress", "requires_action"):
                raise errors.cannot_cancel(status)
            return Effects([self._status(record, "cancelling")])

        return await self._move(project, held, cancelled)

    async def _close_step(self, project: str, record: JSON, status: str) -> Effects:
        if record.get("step_id") is None:
            return Effects([])
        step = await self.store.get_record(project, STEP, record["step_id"])
        record["step_id"] = None
        if step is None:
            return Effects([])
        step.update(status=status, cancelled_at=self.identity.now())
        return Effects([(f"thread.run.step.{status}", snapshot(step))], [step])


def add_usage(total: Any, usage: JSON) -> JSON:
    if not total:
        return dict(usage)
    return usage_object(
        total["prompt_tokens"] + usage["prompt_tokens"], total["completion_tokens"] + usage["completion_tokens"]
    )
