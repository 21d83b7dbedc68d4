"""What the page shows of the state, read through the store's own interface (`Store`), per project.

Only reads, and bounded ones: the newest threads, a thread's newest messages and runs. Conversations and
responses are the admin API's (`/__mock__/conversations`, `/__mock__/responses`) where it serves them; the
page asks it directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..files.api import FILE
from ..journal import JournalEntry
from ..runs.api import ASSISTANT
from ..runs.machine import RUN, STEP
from ..store import Store
from ..store.base import EVERYTHING, ListQuery
from ..vector_stores.api import VECTOR_STORE

if TYPE_CHECKING:
    from ..app import MockApp

THREADS_SHOWN = 200
MESSAGES_SHOWN = 200
RUNS_SHOWN = 50
RECORDS_SHOWN = 200


def project_of(entry: JournalEntry) -> str | None:
    """The project a request spoke for, as the auth middleware and azure.py name it."""
    headers = entry.headers
    path = entry.path
    if path.startswith("/api/projects/"):
        return "foundry:" + path.split("/")[3]
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else ""
    if path.startswith("/openai/"):
        given = headers.get("api-key") or key
        return f"azure-openai:{given}" if given else None
    return key or None


class ProjectsSeen:
    """The projects the journal has seen, the most recent first, read as the page polls: each read takes only the
    entries after the last one read (a journal emptied meanwhile is read again whole)."""

    MOST = 1000

    def __init__(self) -> None:
        self.cursor = 0
        self.seen: dict[str, None] = {}  # oldest first, as dicts keep their order

    async def read(self, mock: MockApp) -> list[str]:
        recent = await (mock.requests(after=self.cursor - 1) if self.cursor else mock.requests())
        if self.cursor and (not recent or recent[0].number != self.cursor):
            self.seen.clear()
            recent = await mock.requests()
        for entry in recent:
            project = project_of(entry)
            if project is not None:
                self.seen.pop(project, None)
                self.seen[project] = None
        while len(self.seen) > self.MOST:
            del self.seen[next(iter(self.seen))]
        self.cursor = recent[-1].number if recent else 0
        return list(reversed(self.seen))


async def projects(mock: MockApp, seen: ProjectsSeen) -> list[str]:
    """The projects the journal has seen, the most recent first, and the configured API keys."""
    found = dict.fromkeys(await seen.read(mock))
    for key in sorted(mock.settings.api_keys):
        found.setdefault(key, None)
    return list(found)


async def records(store: Store, project: str, kind: str, parent: str = "") -> list[Any]:
    page = await store.list_records(project, kind, parent, ListQuery(limit=RECORDS_SHOWN, order="desc"))
    return page.items


async def overview(mock: MockApp, project: str) -> dict[str, Any]:
    """A project's objects at a glance, newest first, and the server's bounds and their use."""
    store = mock.store
    threads = await store.threads(project)
    return {
        "project": project,
        "threads": threads[::-1][:THREADS_SHOWN],
        "thread_count": len(threads),
        "assistants": await records(store, project, ASSISTANT),
        "files": await records(store, project, FILE),
        "vector_stores": await records(store, project, VECTOR_STORE),
        "stats": await store.stats(),
        "memory": mock.memory_use(),
        "journal": {"entries": len(mock.journal), "max_entries": mock.journal.size},
    }


async def thread_view(store: Store, project: str, thread_id: str) -> dict[str, Any] | None:
    """A thread, its newest messages (oldest first) and its newest runs, each with its steps."""
    thread = await store.get_thread(project, thread_id)
    if thread is None:
        return None
    page = await store.list_messages(project, thread_id, ListQuery(limit=MESSAGES_SHOWN, order="desc"))
    messages = [] if page is None else page.items[::-1]
    runs = []
    for record in (await store.list_records(project, RUN, thread_id, ListQuery(limit=RUNS_SHOWN))).items:
        run = record["run"]
        steps = (await store.list_records(project, STEP, run["id"], EVERYTHING)).items
        runs.append({**run, "steps": steps, "streaming": record.get("log") is not None})
    return {
        "thread": thread,
        "messages": messages,
        "message_count_shown": len(messages),
        "more_messages": bool(page and page.has_more),
        "runs": runs,
    }
