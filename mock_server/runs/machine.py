"""The run status machine: each step of a run, the objects it changes and the stream events it makes.

A run is kept as a record {"run": the run object, "plan": what it will do, "hold": polls left in_progress,
"answer_at": when its answer begins, "pace": how its deltas follow, "answer": the answer under way,
"step_id": its pending tool_calls step, "usage": tokens so far, "log": events for its stream,
"include_content": whether its stream shows file_search results' chunks}. Every
transition returns the events the real API streamed for it, so a streamed run and a polled run go through
the same code, on the same clock, and end in the same state; polling simply drops the events.

A run's answer has a timeline: it begins (its step and message created) at `answer_at`, its first delta
follows `pace.first_delta` later and the rest at `pace.per_second`; it ends with its last delta. The
built-in tools a reply uses (a file_search, a code_interpreter call: see `tools.py`) run as it begins, each
a tool_calls step created and completed before the message_creation step, inside the transition that
begins it: a search reads the store, and what the tools make (their steps, an image file) is written by
the transition's winner, as the other side objects are. Whoever
moves the run (a poll, a stream's driver) applies everything due by then, so the time the run ends does not
depend on who watches it. While a stream is attached, the transitions others make (a poll, a cancel) add
their events to the record's log, which the stream's driver empties as it sends them.

A stream and a poll (or two polls, or a poll and a cancel) may move the same run at once. Each transition is
computed on the record as read, then written only if the record is still at that version: the write that
loses reads the record again and goes on from there, so a run makes each transition once. What a transition
adds beside the record (a run step, the assistant's message, a file) is written after the record, by the one
that won;
a thread's active-run marker is claimed with an insert-if-absent and released only while it names the run.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .. import errors
from ..files.api import put_made_file
from ..files.objects import png
from ..ids import Identity
from ..store import JSON, UPDATE_ATTEMPTS, Contention, Store, Versioned
from ..streaming import Watch, pause
from ..threads.objects import message_object
from .formats import structured
from .objects import (
    count_tokens,
    first_tokens,
    function_call,
    step_object,
    usage_object,
)
from .pace import INSTANT, Pace
from .tools import (
    cited_text,
    code_interpreter_call,
    code_interpreter_deltas,
    file_search_call,
    file_search_deltas,
    fitting,
    quoted,
    searched,
    shown_step,
    streamed_annotation,
    text_pieces,
)

# A stream event: its name and its data. Kept in a record's log, it comes back from the store as a list.
Event = tuple[str, JSON]
RUN = "run"
STEP = "step"
# A thread's active run, kept apart so that adding a message checks it with one lookup.
ACTIVE = "active_run"
ACTIVE_STATUSES = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
# Where the SDK's poll helper stops; a stream stops there too.
STOP_STATUSES = frozenset({"requires_action", "cancelled", "completed", "failed", "expired", "incomplete"})


def snapshot(obj: JSON) -> JSON:
    """The object as it is now, for an event, apart from the one the run goes on changing. A JSON round trip
    through orjson copies a run object in a sixth of the time `copy.deepcopy` takes (bench.instructions,
    SCENARIO=stream)."""
    copied: JSON = orjson.loads(orjson.dumps(obj))
    return copied


@dataclass
class Effects:
    """A transition's result: its events, and the objects to write once the run's record is written (the
    files a code_interpreter call made as their id, created_at and filename)."""

    events: list[Event]
    steps: list[JSON] = field(default_factory=list)
    message: JSON | None = None
    files: list[JSON] = field(default_factory=list)


# A transition changes the record it is given in place; None when there is nothing to do from that state.
Transition = Callable[[str, JSON], Awaitable[Effects | None]]


class RunMachine:
    def __init__(self, store: Store, identity: Identity) -> None:
        self.store = store
        self.identity = identity
        # The runs a stream's driver in this process waits on, each woken by any write to its run made here.
        self.watch = Watch()

    async def _move(
        self, project: str, held: Versioned, transition: Transition, *, driver: bool = False
    ) -> list[Event]:
        """The transition applied to the record and written if nobody wrote it meanwhile; else done again on
        the record as it is now. `held` follows: the record and version written, or found. Unless it is the
        stream's own driver that moves the run, the events join the log of a stream attached to it."""
        run_id = held.data["run"]["id"]
        for _ in range(UPDATE_ATTEMPTS):
            # A stream attached by this transition (a submit with stream) gets its events from the submit.
            attached = held.data.get("log") is not None and not driver
            outcome = await transition(project, held.data)
            if outcome is None:
                return []
            if attached:
                held.data["log"].extend(outcome.events)
            version = await self.store.replace_record(project, RUN, run_id, held.data, held.version)
            if version is not None:
                held.version = version
                if not driver:
                    self.watch.wake(run_id)
                await self._write_after(project, held.data, outcome)
                return outcome.events
            fresh = await self.store.read_record(project, RUN, run_id)
            if fresh is None:  # its thread went meanwhile
                raise errors.not_found("run", run_id)
            held.data, held.version = fresh.data, fresh.version
        raise Contention(f"run {run_id} changed under {UPDATE_ATTEMPTS} of its writes in a row")

    async def _write_after(self, project: str, record: JSON, outcome: Effects) -> None:
        # Only the transition that ends a step or an answer carries them, and the record's version lets one
        # transition through: each is written once, in its final form (see `_finish`).
        for made in outcome.files:
            await put_made_file(self.store, project, made, png())
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

    async def start(self, project: str, record: JSON, *, supersede: bool = False) -> tuple[Versioned, list[Event]]:
        """Claims the thread for the run, then stores the run. While another run is active on the thread it is
        refused, or with `supersede` (lenient mode) that run is ended cancelled and the claim made again."""
        run = record["run"]
        # Under its thread, so that it goes with the thread.
        marker = {"run_id": run["id"]}
        for _ in range(UPDATE_ATTEMPTS):
            active = await self.store.add_record(project, ACTIVE, run["thread_id"], marker, parent=run["thread_id"])
            if active is None:
                break
            if not supersede:
                raise errors.active_run_blocks_run(run["thread_id"], active["run_id"])
            await self.supersede(project, run["thread_id"], active["run_id"])
        else:
            raise Contention(f"thread {run['thread_id']} was claimed by {UPDATE_ATTEMPTS} other runs in a row")
        version = await self.store.put_record(project, RUN, run["id"], record, parent=run["thread_id"])
        created = snapshot(run)
        return Versioned(record, version), [("thread.run.created", created), ("thread.run.queued", created)]

    async def supersede(self, project: str, thread_id: str, run_id: str) -> None:
        """Lenient mode's answer to a new run on a thread whose run is still active: that run ends `cancelled`
        at once (its unfinished step and message as a cancel leaves them, its stream told), and lets go of the
        thread. The real API refused the new run; a suite of placeholder ids starts one after the other."""
        held = await self.store.read_record(project, RUN, run_id)
        if held is not None:
            await self._move(project, held, self._superseded)
        # Its end released the marker (`_write_after`); one still naming a run that is not active goes here.
        marker = await self.store.read_record(project, ACTIVE, thread_id)
        ended = held is None or held.data["run"]["status"] not in ACTIVE_STATUSES
        if marker is not None and marker.data["run_id"] == run_id and ended:
            await self.store.delete_record(project, ACTIVE, thread_id, version=marker.version)

    async def _superseded(self, project: str, record: JSON) -> Effects | None:
        if record["run"]["status"] not in ACTIVE_STATUSES:
            return None
        record["run"]["cancelled_at"] = self.identity.now()
        outcome = await self._close_step(project, record)
        outcome.events.append(self._status(record, "cancelled"))
        return outcome

    async def advance(self, project: str, held: Versioned) -> list[Event]:
        """One status further, and within in_progress everything due by now, as one retrieve of a polled run sees it."""
        return await self._move(project, held, self._advance)

    async def _advance(self, project: str, record: JSON, *, driven: bool = False) -> Effects | None:
        run = record["run"]
        status = run["status"]
        if status == "queued":
            if run["started_at"] is None:
                run["started_at"] = self.identity.now()
            return Effects([self._status(record, "in_progress")])
        if status == "in_progress":
            if record.get("hold", 0) > 0 and not driven:
                # A rule's `polls`: retrieves that find the run still in_progress. A stream has no polls to spend.
                record["hold"] -= 1
                return Effects([])
            return await self._progress(project, record, time.time())
        if status == "cancelling":
            run["cancelled_at"] = self.identity.now()
            outcome = await self._close_step(project, record)
            outcome.events.append(self._status(record, "cancelled"))
            return outcome
        return None

    async def _progress(self, project: str, record: JSON, now: float) -> Effects | None:
        """Everything of the answer's timeline due by `now`: its start, its deltas, its end."""
        outcome = Effects([])
        answer = record.get("answer")
        if answer is None:
            if now < record.get("answer_at", 0.0):
                return None
            plan = record["plan"]
            if plan["outcome"] == "fail":
                return self._fail(record)
            if plan["outcome"] == "expired":
                return Effects([self._status(record, "expired")])
            if plan["outcome"] == "tool_calls":
                answer, outcome = self._call_tools(record)
            else:
                answer, outcome = await self._begin_reply(project, record)
            answer["first_at"] = max(record.get("answer_at", 0.0), 0.0) + pace_of(record).first_delta
            record["answer"] = answer
        deltas = answer["deltas"]
        due = pace_of(record).due(answer["first_at"], len(deltas), now)
        if due > answer["sent"]:
            outcome.events += delta_events(answer, answer["sent"], due)
            answer["sent"] = due
        if answer["sent"] == len(deltas):
            ended = self._end_tools(record) if answer["message"] is None else self._end_reply(record)
            outcome.events += ended.events
            outcome.steps += ended.steps
            outcome.message = ended.message
        return outcome if outcome.events else None

    def _fail(self, record: JSON) -> Effects:
        run = record["run"]
        run["failed_at"] = self.identity.now()
        run["expires_at"] = None
        run["last_error"] = dict(record["plan"]["error"])
        return Effects([self._status(record, "failed")])

    async def _begin_reply(self, project: str, record: JSON) -> tuple[JSON, Effects]:
        """The answer's tools run (each a completed tool_calls step), then its step and message, created
        in_progress, and the deltas its text will arrive in."""
        run, plan = record["run"], record["plan"]
        begun = Effects([])
        text: str = plan["text"]
        cited = image = None
        if plan.get("file_search") is not None:
            results = await searched(self.store, project, plan["file_search"])
            call = file_search_call(self.identity.new_id("call"), plan["file_search"]["ranking_options"], results)
            self._run_tool(record, call, file_search_deltas(call), count_tokens(plan["file_search"]["query"]), begun)
            cited = results[0] if results else None
            if cited is not None and plan.get("quote") and quoted(cited):
                text = quoted(cited)
        if plan.get("code_interpreter") is not None:
            code = plan["code_interpreter"]
            outputs: list[JSON] = [] if code["logs"] is None else [{"type": "logs", "logs": code["logs"]}]
            if code["image"] is not None:
                image = {"id": self.identity.file_id(), "created_at": self.identity.now(), "filename": code["image"]}
                begun.files.append(image)
                outputs.append({"type": "image", "image": {"file_id": image["id"]}})
            call = code_interpreter_call(self.identity.new_id("call"), code["input"], outputs)
            self._run_tool(record, call, code_interpreter_deltas(call), count_tokens(code["input"]), begun)
        # A structured answer stays the JSON it is: no citation marker or image link is written into it.
        text, annotations = cited_text(text, cited, image) if not plan.get("structured") else (text, [])
        reason = plan.get("reason")
        limit = run.get("max_completion_tokens")
        if reason is None and limit is not None and count_tokens(text) > limit:
            reason = "max_completion_tokens"
            text = first_tokens(text, limit)
        elif reason is not None:
            text = first_tokens(text, max(1, count_tokens(text) // 2))
        annotations = fitting(text, annotations)
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
        begun.events += [
            ("thread.run.step.created", snapshot(step)),
            ("thread.run.step.in_progress", snapshot(step)),
            ("thread.message.created", snapshot(message)),
            ("thread.message.in_progress", snapshot(message)),
        ]
        # The text's pieces (and the image, a piece of its own), not their events: the record is written again
        # at every delta of a paced reply.
        pieces, marks = text_pieces(text, annotations)
        deltas: list[Any] = [*pieces, *([{"file_id": image["id"]}] if image is not None else [])]
        answer = {
            "step": step,
            "message": message,
            "deltas": deltas,
            "marks": marks,
            "annotations": annotations,
            "sent": 0,
            "reason": reason,
        }
        return answer, begun

    def _run_tool(self, record: JSON, call: JSON, deltas: list[JSON], completion: int, begun: Effects) -> None:
        """A built-in tool's step, made and completed at once: its events and the step itself join `begun`."""
        run = record["run"]
        step = step_object(
            self.identity.new_id("step"), run, self.identity.now(), {"type": "tool_calls", "tool_calls": []}
        )
        begun.events += [
            ("thread.run.step.created", snapshot(step)),
            ("thread.run.step.in_progress", snapshot(step)),
        ]
        for delta in deltas:
            data = {"id": step["id"], "object": "thread.run.step.delta", "delta": tool_delta(delta)}
            begun.events.append(("thread.run.step.delta", data))
        step["step_details"]["tool_calls"] = [call]
        usage = usage_object(record["prompt_tokens"], completion)
        step.update(status="completed", completed_at=self.identity.now(), usage=usage)
        record["usage"] = add_usage(record.get("usage"), usage)
        shown = shown_step(step, record.get("include_content", False))
        begun.events.append(("thread.run.step.completed", snapshot(shown)))
        begun.steps.append(step)

    def _end_reply(self, record: JSON) -> Effects:
        run, answer = record["run"], record.pop("answer")
        step, message = answer["step"], answer["message"]
        text = sent_text(answer)
        now = self.identity.now()
        message["content"] = sent_content(answer)
        usage = usage_object(record["prompt_tokens"], count_tokens(text))
        step.update(status="completed", completed_at=now, usage=usage)
        record["usage"] = add_usage(record.get("usage"), usage)
        run["usage"] = record["usage"]
        reason = answer["reason"]
        if reason is None:
            message.update(status="completed", completed_at=now)
            run.update(completed_at=now, expires_at=None)
            final = "completed"
        else:
            message.update(status="incomplete", incomplete_at=now, incomplete_details={"reason": "max_tokens"})
            run.update(incomplete_details={"reason": reason}, expires_at=None)
            final = "incomplete"
        events: list[Event] = [
            (f"thread.message.{final}", snapshot(message)),
            ("thread.run.step.completed", snapshot(step)),
            self._status(record, final),
        ]
        return Effects(events, [step], message)

    def _call_tools(self, record: JSON) -> tuple[JSON, Effects]:
        """The tool_calls step, created in_progress, and the deltas that fill in its calls."""
        run, plan = record["run"], record["plan"]
        calls = [function_call(self.identity.new_id("call"), c["name"], c["arguments"]) for c in plan["calls"]]
        step = step_object(
            self.identity.new_id("step"), run, self.identity.now(), {"type": "tool_calls", "tool_calls": []}
        )
        begun: list[Event] = [
            ("thread.run.step.created", snapshot(step)),
            ("thread.run.step.in_progress", snapshot(step)),
        ]
        deltas: list[Event] = []
        for index, call in enumerate(calls):
            first = {"index": index, **call, "function": {**call["function"], "arguments": ""}}
            rest = {"index": index, "type": "function", "function": {"arguments": call["function"]["arguments"]}}
            for item in (first, rest):
                data = {"id": step["id"], "object": "thread.run.step.delta", "delta": tool_delta(item)}
                deltas.append(("thread.run.step.delta", data))
        return {"step": step, "message": None, "deltas": deltas, "sent": 0, "calls": calls}, Effects(begun)

    def _end_tools(self, record: JSON) -> Effects:
        run, plan, answer = record["run"], record["plan"], record.pop("answer")
        step, calls = answer["step"], answer["calls"]
        step["step_details"]["tool_calls"] = calls
        record["step_id"] = step["id"]
        record["plan"] = structured({"outcome": "reply", "text": plan["then"]}, run.get("response_format"))
        record["pending_completion"] = sum(count_tokens(c["function"]["arguments"]) for c in calls)
        run["required_action"] = {
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {
                "tool_calls": [
                    {**c, "function": {k: v for k, v in c["function"].items() if k != "output"}} for c in calls
                ]
            },
        }
        return Effects([self._status(record, "requires_action")], [step])

    async def submit(
        self,
        project: str,
        held: Versioned,
        tool_outputs: list[JSON],
        *,
        pace: Pace | None = None,
        stream: bool = False,
        lenient: bool = False,
    ) -> list[Event]:
        """The tool step completes and the run is queued again, its answer due at once (at `pace`, if given);
        refused unless the run waits for exactly these outputs. `stream`: a stream follows the run from here.
        `lenient`: a run that does not wait is left as it is (no events), and a call without its output gets
        an empty one."""

        async def submitted(project: str, record: JSON) -> Effects | None:
            run = record["run"]
            if run["status"] != "requires_action":
                if lenient:
                    return None
                raise errors.run_refuses_tool_outputs(run["status"])
            expected = [c["id"] for c in run["required_action"]["submit_tool_outputs"]["tool_calls"]]
            outputs = {o.get("tool_call_id"): o.get("output", "") for o in tool_outputs}
            if any(call_id not in outputs for call_id in expected) and not lenient:
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
            record["answer_at"] = time.time()
            if pace is not None:
                record["pace"] = pace_data(pace)
            if stream:
                record["log"] = []
            run["required_action"] = None
            done.events.append(self._status(record, "queued"))
            return done

        return await self._move(project, held, submitted)

    async def cancel(self, project: str, held: Versioned, *, lenient: bool = False) -> list[Event]:
        """The run goes cancelling (and cancelled at the next step); refused once it has stopped, or with
        `lenient` left as it is."""

        async def cancelled(project: str, record: JSON) -> Effects | None:
            status = record["run"]["status"]
            if status not in ("queued", "in_progress", "requires_action"):
                if lenient:
                    return None
                raise errors.cannot_cancel(status)
            return Effects([self._status(record, "cancelling")])

        return await self._move(project, held, cancelled)

    async def _close_step(self, project: str, record: JSON) -> Effects:
        """A cancelled run's unfinished work: the answer under way keeps what was sent of it (its message
        incomplete, its step cancelled), a tool_calls step waiting for outputs is cancelled."""
        now = self.identity.now()
        answer = record.pop("answer", None)
        if answer is not None:
            step = answer["step"]
            step.update(status="cancelled", cancelled_at=now)
            message = answer["message"]
            if message is None:
                step["step_details"]["tool_calls"] = answer["calls"]
                return Effects([("thread.run.step.cancelled", snapshot(step))], [step])
            text = sent_text(answer)
            if text:
                message["content"] = sent_content(answer)
                usage = usage_object(record["prompt_tokens"], count_tokens(text))
                step["usage"] = usage
                record["usage"] = add_usage(record.get("usage"), usage)
                record["run"]["usage"] = record["usage"]
            message.update(status="incomplete", incomplete_at=now, incomplete_details={"reason": "run_cancelled"})
            events: list[Event] = [
                ("thread.message.incomplete", snapshot(message)),
                ("thread.run.step.cancelled", snapshot(step)),
            ]
            return Effects(events, [step], message)
        if record.get("step_id") is None:
            return Effects([])
        step = await self.store.get_record(project, STEP, record["step_id"])
        record["step_id"] = None
        if step is None:
            return Effects([])
        step.update(status="cancelled", cancelled_at=now)
        return Effects([("thread.run.step.cancelled", snapshot(step))], [step])

    # -- a stream's driver

    async def drive(self, project: str, held: Versioned) -> AsyncIterator[list[Event]]:
        """The events of a run with a stream attached (`record["log"]` set), in order, as they happen, until
        the run stops where a poller would: its own transitions, each when due, and those of anyone else."""
        run_id = held.data["run"]["id"]
        with self.watch.watching(run_id) as woken:
            while True:
                events = await self._move(project, held, self._drive, driver=True)
                if events:
                    yield events
                if held.data.get("log") is None:
                    return
                await pause(woken, next_due(held.data))
                fresh = await self.store.read_record(project, RUN, run_id)
                if fresh is None:
                    raise errors.not_found("run", run_id)
                held.data, held.version = fresh.data, fresh.version

    async def _drive(self, project: str, record: JSON) -> Effects | None:
        """The driver's transition: the events others logged, then its own move if one is due; the log is
        emptied as they are taken, and let go once the run stops."""
        logged: list[Event] = [(name, data) for name, data in record.get("log") or ()]
        outcome = await self._advance(project, record, driven=True) or Effects([])
        stopped = record["run"]["status"] in STOP_STATUSES
        if not logged and not outcome.events and not stopped:
            return None
        record["log"] = None if stopped else []
        outcome.events[:0] = logged
        return outcome


def pace_of(record: JSON) -> Pace:
    found = record.get("pace")
    return INSTANT if found is None else Pace(found["first_delta"], found["per_second"])


def pace_data(pace: Pace) -> JSON:
    return {"first_delta": pace.first_delta, "per_second": pace.per_second}


def tool_delta(call: JSON) -> JSON:
    return {"step_details": {"type": "tool_calls", "tool_calls": [call]}}


def delta_events(answer: JSON, start: int, stop: int) -> list[Event]:
    """The answer's deltas from `start` to `stop`: a tool step keeps its events, a reply its text's pieces
    (the one an annotation covers carrying it) and then its images, each a content part of its own."""
    if answer["message"] is None:
        return [(name, data) for name, data in answer["deltas"][start:stop]]
    message_id = answer["message"]["id"]
    marks = answer.get("marks") or []
    events: list[Event] = []
    for index in range(start, stop):
        piece = answer["deltas"][index]
        part: JSON
        if isinstance(piece, dict):
            images = sum(isinstance(earlier, dict) for earlier in answer["deltas"][:index])
            part = {"index": 1 + images, "type": "image_file", "image_file": piece}
        else:
            part = {"index": 0, "type": "text", "text": {"value": piece}}
            mark = marks[index] if index < len(marks) else None
            if mark is not None:
                part["text"]["annotations"] = [streamed_annotation(mark, answer["annotations"][mark])]
            elif index == 0:
                part["text"]["annotations"] = []
        delta = {"id": message_id, "object": "thread.message.delta", "delta": {"content": [part]}}
        events.append(("thread.message.delta", delta))
    return events


def sent_text(answer: JSON) -> str:
    """The text of the reply's deltas sent so far."""
    return "".join(piece for piece in answer["deltas"][: answer["sent"]] if isinstance(piece, str))


def sent_content(answer: JSON) -> list[JSON]:
    """The message content of the reply's deltas sent so far: its text with the annotations on what was sent,
    then the images sent."""
    text = sent_text(answer)
    annotations = fitting(text, answer.get("annotations") or [])
    images = [piece for piece in answer["deltas"][: answer["sent"]] if isinstance(piece, dict)]
    return [
        {"type": "text", "text": {"value": text, "annotations": annotations}},
        *({"type": "image_file", "image_file": image} for image in images),
    ]


def next_due(record: JSON) -> float:
    """When the run has something to do next; now when it already has."""
    run = record["run"]
    if run["status"] != "in_progress":
        return 0.0
    answer = record.get("answer")
    if answer is None:
        return float(record.get("answer_at", 0.0))
    return pace_of(record).due_at(answer["first_at"], answer["sent"])


def add_usage(total: Any, usage: JSON) -> JSON:
    if not total:
        return dict(usage)
    return usage_object(
        total["prompt_tokens"] + usage["prompt_tokens"], total["completion_tokens"] + usage["completion_tokens"]
    )
