"""The durable store (`--store sqlite:PATH`): one SQLite file, shared by every worker process that opens it.

Each object is kept as the same compact JSON the memory store keeps; the tables only add what has to be
searched or ordered: the project and id, creation order (`seq`), the run id, and a recency clock for eviction.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson

from ..base import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_THREADS,
    JSON,
    DiskFull,
    ListQuery,
    Page,
    Stats,
    Store,
    StoreUnavailable,
    ThreadFull,
    Version,
    Versioned,
    check_max_file_bytes,
    check_max_threads,
    page_of,
    pieces,
    warn_eviction,
)
from ..registry import Backend, register

# How long a writer waits for another process's transaction before giving up with "database is locked".
# Every transaction here is a handful of indexed statements, so only a stalled disk (or a foreign program
# holding the file locked) gets near this.
BUSY_TIMEOUT_SECONDS = 5.0

SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS threads (
    seq INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    id TEXT NOT NULL,
    used INTEGER NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (project, id)
);
CREATE INDEX IF NOT EXISTS threads_by_use ON threads (used);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    thread INTEGER NOT NULL REFERENCES threads (seq) ON DELETE CASCADE,
    id TEXT NOT NULL,
    run_id TEXT,
    data BLOB NOT NULL,
    UNIQUE (thread, id)
);
CREATE INDEX IF NOT EXISTS messages_in_order ON messages (thread);
CREATE INDEX IF NOT EXISTS messages_by_run ON messages (thread, run_id);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    parent TEXT NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (project, kind, id)
);
CREATE INDEX IF NOT EXISTS records_in_order ON records (project, kind, parent, seq);
CREATE INDEX IF NOT EXISTS records_by_parent ON records (project, parent);
-- A thread takes the records under it, and the records under those, with it (runs, their steps).
CREATE TRIGGER IF NOT EXISTS thread_records_removed AFTER DELETE ON threads BEGIN
    DELETE FROM records WHERE project = OLD.project
        AND parent IN (SELECT id FROM records WHERE project = OLD.project AND parent = OLD.id);
    DELETE FROM records WHERE project = OLD.project AND parent = OLD.id;
END;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('threads', 0), ('evicted', 0), ('files_evicted', 0);
-- count(*) scans the table; these keep the count exact inside the same transactions, cascades included.
CREATE TRIGGER IF NOT EXISTS thread_added AFTER INSERT ON threads
    BEGIN UPDATE counters SET value = value + 1 WHERE name = 'threads'; END;
CREATE TRIGGER IF NOT EXISTS thread_removed AFTER DELETE ON threads
    BEGIN UPDATE counters SET value = value - 1 WHERE name = 'threads'; END;
-- A blob record's bytes, in pieces. A blob is written piece by piece, each in its own statement, while
-- `complete` is 0 (an upload in flight, invisible), and published in one transaction with its record.
CREATE TABLE IF NOT EXISTS blobs (
    seq INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    used INTEGER NOT NULL,
    size INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    started REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS blobs_by_id ON blobs (project, kind, id);
CREATE INDEX IF NOT EXISTS blobs_by_use ON blobs (complete, used);
CREATE TABLE IF NOT EXISTS blob_pieces (
    blob INTEGER NOT NULL REFERENCES blobs (seq) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (blob, n)
);
-- A blob record takes its bytes with it, however it goes (deleted, or with its thread).
CREATE TRIGGER IF NOT EXISTS record_blob_removed AFTER DELETE ON records BEGIN
    DELETE FROM blobs WHERE project = OLD.project AND kind = OLD.kind AND id = OLD.id AND complete = 1;
END;
COMMIT;
"""

# An upload cut short by a crash leaves pieces the next start removes: those older than this, so that an upload
# in flight in a sibling worker (which may start later, after a restart) is left alone.
ABANDONED_UPLOAD_SECONDS = 3600.0

# The write-ahead log beside the file is cut back to this after each checkpoint: the disk bound is the file's
# (`limit_disk`) plus at most this much of log.
WAL_KEPT = 64 * 1024 * 1024
# When the file is full, this share of the threads (the least recently used) goes before the write is tried again.
EVICTED_WHEN_FULL = 16

T = TypeVar("T")
Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])


def making_room(method: Method) -> Method:
    """A write that finds the file full (`limit_disk`) tried again once the least recently used threads, then
    files, went; DiskFull when nothing is left to go. Only for calls that are one transaction with no await
    inside, which can be run again from the start."""

    @functools.wraps(method)
    async def write(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        while True:
            try:
                return await method(self, *args, **kwargs)
            except sqlite3.OperationalError as error:
                self._room_after(error)

    return cast(Method, write)


def is_full(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


PIECE = "INSERT INTO blob_pieces (blob, n, data) VALUES (?, ?, ?)"

# Every call on a thread is a use: it makes the thread the most recently used, last in line for eviction.
USE = "UPDATE threads SET used = (SELECT max(used) FROM threads) + 1 WHERE project = ? AND id = ?"


def sqlite_path(url: str) -> Path:
    path = url.removeprefix("sqlite:")
    if not path:
        raise ValueError("the sqlite store needs a file: --store sqlite:PATH")
    return Path(path)


class SqliteStore(Store):
    """Calls SQLite synchronously, on the event loop: every call is one short transaction.

    Measured on the 2-core development machine: a create takes about 60 µs and a get about 20 µs, while handing
    a call to a thread and back costs about 100 µs by itself; with two workers under wrk, a variant that ran
    every call on a dedicated thread served no more requests and had worse tail latency. A call waits longer
    only while another process holds the write lock, which no transaction here holds for a millisecond.

    An object's version is its stored JSON: a conditional write compares it in its WHERE clause, so no column
    (and no migration of older files) is needed. An object changed and changed back to the same bytes counts
    as unchanged, which is harmless: every change is computed from those bytes alone, and a run's record never
    returns to a state it has left.
    """

    def __init__(
        self, path: Path | str, max_threads: int = DEFAULT_MAX_THREADS, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    ) -> None:
        self.path = Path(path)
        self._max_threads = check_max_threads(max_threads)
        self._max_file_bytes = check_max_file_bytes(max_file_bytes)
        self._warned = False
        self._files_warned = False
        self._max_disk: int | None = None
        self._connection: sqlite3.Connection | None = None

    def limit_disk(self, max_bytes: int) -> None:
        # Uploaded files take at most half the file, as they take half the memory store's share: one upload
        # past that is refused as it streams, before anything is evicted for it.
        self._max_disk = max_bytes
        self._max_file_bytes = min(self._max_file_bytes, max_bytes // 2)
        if self._connection is not None:
            self._apply_disk_limit(self._connection)

    def _apply_disk_limit(self, db: sqlite3.Connection) -> None:
        if self._max_disk is None:
            return
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        # SQLite never sets it below the pages the file has already: an older, larger file stays as it is.
        db.execute(f"PRAGMA max_page_count = {max(1, self._max_disk // int(page_size))}")
        db.execute(f"PRAGMA journal_size_limit = {WAL_KEPT}")

    def _room_after(self, error: sqlite3.OperationalError) -> None:
        """Room made for a write that failed with `error` (the least recently used threads, or else files,
        evicted); raises the error again if it was not a full file, DiskFull when nothing could go."""
        if not is_full(error) or self._max_disk is None:
            raise error
        with self._transaction() as db:
            (threads,) = db.execute("SELECT value FROM counters WHERE name = 'threads'").fetchone()
            if threads:
                excess = max(1, int(threads) // EVICTED_WHEN_FULL)
                oldest = "SELECT seq FROM threads ORDER BY used LIMIT ?"
                db.execute(f"DELETE FROM threads WHERE seq IN ({oldest})", (excess,))
                db.execute("UPDATE counters SET value = value + ? WHERE name = 'evicted'", (excess,))
                return
            oldest_file = db.execute(
                "SELECT project, kind, id FROM blobs WHERE complete = 1 ORDER BY used LIMIT 1"
            ).fetchone()
            if oldest_file is None:
                raise DiskFull(self._max_disk) from error
            db.execute("DELETE FROM records WHERE project = ? AND kind = ? AND id = ?", oldest_file)
            db.execute("DELETE FROM blobs WHERE project = ? AND kind = ? AND id = ?", oldest_file)
            db.execute("UPDATE counters SET value = value + 1 WHERE name = 'files_evicted'")

    async def open(self) -> None:
        if self._connection is not None:
            return
        try:
            self._connection = connect(self.path)
            self._apply_disk_limit(self._connection)
            self._connection.execute(
                "DELETE FROM blobs WHERE complete = 0 AND started < ?", (time.time() - ABANDONED_UPLOAD_SECONDS,)
            )
        except sqlite3.Error as error:
            raise StoreUnavailable(f"cannot open the sqlite store {str(self.path)!r}: {error}") from error

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError(f"the sqlite store {str(self.path)!r} is not open: await its open() first")
        return self._connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so a read-modify-write never meets a concurrent writer
        # half-way (a deferred transaction would fail with SQLITE_BUSY on upgrade instead of waiting).
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _touch(self, db: sqlite3.Connection, project: str, thread_id: str) -> int | None:
        row = db.execute(f"{USE} RETURNING seq", (project, thread_id)).fetchone()
        return None if row is None else int(row[0])

    @making_room
    async def create_thread(self, project: str, thread: JSON, messages: Sequence[JSON]) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM threads WHERE project = ? AND id = ?", (project, thread["id"]))
            (seq,) = db.execute(
                "INSERT INTO threads (project, id, used, data)"
                " VALUES (?, ?, (SELECT coalesce(max(used), 0) + 1 FROM threads), ?) RETURNING seq",
                (project, thread["id"], orjson.dumps(thread)),
            ).fetchone()
            db.executemany(
                "INSERT INTO messages (thread, id, run_id, data) VALUES (?, ?, ?, ?)",
                [(seq, m["id"], m.get("run_id"), orjson.dumps(m)) for m in messages],
            )
            excess = int(db.execute("SELECT value FROM counters WHERE name = 'threads'").fetchone()[0])
            excess -= self._max_threads
            if excess > 0:
                oldest = "SELECT seq FROM threads ORDER BY used LIMIT ?"
                db.execute(f"DELETE FROM threads WHERE seq IN ({oldest})", (excess,))
                db.execute("UPDATE counters SET value = value + ? WHERE name = 'evicted'", (excess,))
        if excess > 0 and not self._warned:
            self._warned = True
            warn_eviction(self._max_threads)

    async def get_thread(self, project: str, thread_id: str) -> JSON | None:
        row = self._db.execute(f"{USE} RETURNING data", (project, thread_id)).fetchone()
        return None if row is None else loads(row[0])

    async def read_thread(self, project: str, thread_id: str) -> Versioned | None:
        row = self._db.execute(f"{USE} RETURNING data", (project, thread_id)).fetchone()
        return None if row is None else Versioned(loads(row[0]), bytes(row[0]))

    @making_room
    async def replace_thread(self, project: str, thread_id: str, thread: JSON, version: Version) -> Version | None:
        data = orjson.dumps(thread)
        cursor = self._db.execute(
            "UPDATE threads SET data = ? WHERE project = ? AND id = ? AND data = ?", (data, project, thread_id, version)
        )
        return data if cursor.rowcount > 0 else None

    async def delete_thread(self, project: str, thread_id: str) -> bool:
        # The messages go with it (ON DELETE CASCADE), in the same statement's transaction.
        cursor = self._db.execute("DELETE FROM threads WHERE project = ? AND id = ?", (project, thread_id))
        return cursor.rowcount > 0

    async def threads(self, project: str) -> list[JSON]:
        rows = self._db.execute("SELECT data FROM threads WHERE project = ? ORDER BY seq", (project,))
        return [loads(data) for (data,) in rows]

    @making_room
    async def add_message(self, project: str, message: JSON, most: int | None = None) -> bool:
        with self._transaction() as db:
            seq = self._touch(db, project, message["thread_id"])
            if seq is None:
                return False
            if most is not None and self._message(db, seq, message["id"]) is None:
                (held,) = db.execute("SELECT count(*) FROM messages WHERE thread = ?", (seq,)).fetchone()
                if held >= most:
                    raise ThreadFull(most)
            db.execute(
                "INSERT INTO messages (thread, id, run_id, data) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (thread, id) DO UPDATE SET run_id = excluded.run_id, data = excluded.data",
                (seq, message["id"], message.get("run_id"), orjson.dumps(message)),
            )
        return True

    async def get_message(self, project: str, thread_id: str, message_id: str) -> JSON | None:
        found = await self.read_message(project, thread_id, message_id)
        return None if found is None else found.data

    async def read_message(self, project: str, thread_id: str, message_id: str) -> Versioned | None:
        with self._transaction() as db:
            seq = self._touch(db, project, thread_id)
            row = None if seq is None else self._message(db, seq, message_id)
        return None if row is None else Versioned(loads(row[1]), row[1])

    def _message(self, db: sqlite3.Connection, thread: int, message_id: str) -> tuple[int, bytes] | None:
        row = db.execute("SELECT seq, data FROM messages WHERE thread = ? AND id = ?", (thread, message_id)).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    @making_room
    async def replace_message(
        self, project: str, thread_id: str, message_id: str, message: JSON, version: Version
    ) -> Version | None:
        data = orjson.dumps(message)
        cursor = self._db.execute(
            "UPDATE messages SET run_id = ?, data = ?"
            " WHERE thread = (SELECT seq FROM threads WHERE project = ? AND id = ?) AND id = ? AND data = ?",
            (message.get("run_id"), data, project, thread_id, message_id, version),
        )
        return data if cursor.rowcount > 0 else None

    async def delete_message(self, project: str, thread_id: str, message_id: str) -> bool:
        with self._transaction() as db:
            seq = self._touch(db, project, thread_id)
            if seq is None:
                return False
            cursor = db.execute("DELETE FROM messages WHERE thread = ? AND id = ?", (seq, message_id))
        return cursor.rowcount > 0

    async def list_messages(self, project: str, thread_id: str, query: ListQuery) -> Page | None:
        with self._transaction() as db:
            seq = self._touch(db, project, thread_id)
            if seq is None:
                return None
            rows, has_more = page(db, seq, query)
        return Page([loads(data) for data in rows], has_more)

    @making_room
    async def put_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> Version:
        encoded = orjson.dumps(data)
        self._db.execute(
            "INSERT INTO records (project, kind, id, parent, data) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (project, kind, id) DO UPDATE SET parent = excluded.parent, data = excluded.data",
            (project, kind, record_id, parent, encoded),
        )
        return encoded

    @making_room
    async def add_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> JSON | None:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO records (project, kind, id, parent, data) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (project, kind, id) DO NOTHING",
                (project, kind, record_id, parent, orjson.dumps(data)),
            )
            if cursor.rowcount > 0:
                return None
            row = db.execute(
                "SELECT data FROM records WHERE project = ? AND kind = ? AND id = ?", (project, kind, record_id)
            ).fetchone()
        return loads(row[0])

    async def get_record(self, project: str, kind: str, record_id: str) -> JSON | None:
        found = await self.read_record(project, kind, record_id)
        return None if found is None else found.data

    async def read_record(self, project: str, kind: str, record_id: str) -> Versioned | None:
        row = self._db.execute(
            "SELECT data FROM records WHERE project = ? AND kind = ? AND id = ?", (project, kind, record_id)
        ).fetchone()
        return None if row is None else Versioned(loads(row[0]), bytes(row[0]))

    @making_room
    async def replace_record(
        self, project: str, kind: str, record_id: str, data: JSON, version: Version
    ) -> Version | None:
        encoded = orjson.dumps(data)
        cursor = self._db.execute(
            "UPDATE records SET data = ? WHERE project = ? AND kind = ? AND id = ? AND data = ?",
            (encoded, project, kind, record_id, version),
        )
        return encoded if cursor.rowcount > 0 else None

    async def delete_record(self, project: str, kind: str, record_id: str, version: Version | None = None) -> bool:
        where = "project = ? AND kind = ? AND id = ?"
        if version is None:
            cursor = self._db.execute(f"DELETE FROM records WHERE {where}", (project, kind, record_id))
        else:
            cursor = self._db.execute(
                f"DELETE FROM records WHERE {where} AND data = ?", (project, kind, record_id, version)
            )
        return cursor.rowcount > 0

    async def list_records(self, project: str, kind: str, parent: str, query: ListQuery) -> Page:
        # Records are few per parent (a thread's runs, a run's steps): cut the page in Python, as page_of says.
        rows = self._db.execute(
            "SELECT id, data FROM records WHERE project = ? AND kind = ? AND parent = ? ORDER BY seq",
            (project, kind, parent),
        ).fetchall()
        data = {record_id: bytes(blob) for record_id, blob in rows}
        chosen, has_more = page_of(list(data), query)
        return Page([loads(data[record_id]) for record_id in chosen], has_more)

    async def put_blob_record(
        self, project: str, kind: str, record_id: str, chunks: AsyncIterable[bytes], make: Callable[[int], JSON]
    ) -> JSON:
        # Each piece is its own short statement: a slow upload never holds the write lock between pieces.
        (blob,) = self._with_room(
            lambda: self._db.execute(
                "INSERT INTO blobs (project, kind, id, used, size, complete, started) VALUES (?, ?, ?, 0, 0, 0, ?)"
                " RETURNING seq",
                (project, kind, record_id, time.time()),
            ).fetchone()
        )
        size = 0
        try:
            async for n, piece in aenumerate(pieces(chunks, self._max_file_bytes)):
                self._with_room(functools.partial(self._db.execute, PIECE, (blob, n, piece)))
                size += len(piece)
            record = make(size)
            evicted = self._with_room(lambda: self._publish_blob(project, kind, record_id, blob, size, record))
        except BaseException:
            self._db.execute("DELETE FROM blobs WHERE seq = ?", (blob,))
            raise
        if evicted and not self._files_warned:
            self._files_warned = True
            warn_eviction(self._max_file_bytes, "file")
        return record

    def _with_room(self, write: Callable[[], T]) -> T:
        """`write` (one statement or one transaction), tried again as `making_room` does."""
        while True:
            try:
                return write()
            except sqlite3.OperationalError as error:
                self._room_after(error)

    def _publish_blob(self, project: str, kind: str, record_id: str, blob: int, size: int, record: JSON) -> int:
        with self._transaction() as db:
            db.execute(
                "DELETE FROM blobs WHERE project = ? AND kind = ? AND id = ? AND complete = 1",
                (project, kind, record_id),
            )
            db.execute(
                "UPDATE blobs SET complete = 1, size = ?, used = (SELECT coalesce(max(used), 0) + 1 FROM blobs)"
                " WHERE seq = ?",
                (size, blob),
            )
            db.execute(
                "INSERT INTO records (project, kind, id, parent, data) VALUES (?, ?, ?, '', ?)"
                " ON CONFLICT (project, kind, id) DO UPDATE SET parent = excluded.parent, data = excluded.data",
                (project, kind, record_id, orjson.dumps(record)),
            )
            return self._evict_blobs(db)

    def _evict_blobs(self, db: sqlite3.Connection) -> int:
        """Drops the least recently used blob records until the blobs fit; answers how many went."""
        (held,) = db.execute("SELECT coalesce(sum(size), 0) FROM blobs WHERE complete = 1").fetchone()
        excess = int(held) - self._max_file_bytes
        evicted = 0
        oldest = db.execute("SELECT project, kind, id, size FROM blobs WHERE complete = 1 ORDER BY used").fetchall()
        for project, kind, record_id, size in oldest:
            if excess <= 0:
                break
            # The record's trigger takes the blob with it; the second statement covers a blob left without one.
            db.execute("DELETE FROM records WHERE project = ? AND kind = ? AND id = ?", (project, kind, record_id))
            db.execute("DELETE FROM blobs WHERE project = ? AND kind = ? AND id = ?", (project, kind, record_id))
            excess -= size
            evicted += 1
        if evicted:
            db.execute("UPDATE counters SET value = value + ? WHERE name = 'files_evicted'", (evicted,))
        return evicted

    async def read_blob(self, project: str, kind: str, record_id: str) -> AsyncIterator[bytes] | None:
        row = self._db.execute(
            "UPDATE blobs SET used = (SELECT max(used) FROM blobs) + 1"
            " WHERE project = ? AND kind = ? AND id = ? AND complete = 1 RETURNING seq",
            (project, kind, record_id),
        ).fetchone()
        return None if row is None else self._pieces(int(row[0]))

    async def _pieces(self, blob: int) -> AsyncIterator[bytes]:
        # One piece per statement: a download holds one piece in memory, and no lock between pieces.
        n = 0
        while row := self._db.execute("SELECT data FROM blob_pieces WHERE blob = ? AND n = ?", (blob, n)).fetchone():
            yield bytes(row[0])
            n += 1

    async def stats(self) -> Stats:
        counts = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        (held,) = self._db.execute("SELECT coalesce(sum(size), 0) FROM blobs WHERE complete = 1").fetchone()
        return {
            "threads": counts["threads"],
            "max_threads": self._max_threads,
            "evicted": counts["evicted"],
            "file_bytes": int(held),
            "max_file_bytes": self._max_file_bytes,
            "files_evicted": counts["files_evicted"],
        }

    async def clear(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM messages")
            db.execute("DELETE FROM threads")
            db.execute("DELETE FROM records")
            db.execute("DELETE FROM blobs WHERE complete = 1")
            db.execute("UPDATE counters SET value = 0")


def connect(path: Path) -> sqlite3.Connection:
    # Autocommit (isolation_level=None): a single statement is its own transaction, and every multi-statement
    # change is an explicit BEGIN IMMEDIATE ... COMMIT. check_same_thread=False: the test server runs its
    # loop in another thread than the one that built the app; calls never overlap (one event loop).
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
    try:
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise sqlite3.OperationalError(f"the file does not support WAL mode (journal_mode is {mode})")
        # In WAL mode a COMMIT has written its frames to the log file before it returns, so a process killed
        # with SIGKILL loses nothing it answered: the kernel still holds and writes those pages. NORMAL only
        # skips the fsync per commit, which would guard against power loss or a kernel crash; FULL costs
        # an fsync on every write request, a price a mock server does not need to pay.
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.executescript(SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


def page(db: sqlite3.Connection, thread: int, query: ListQuery) -> tuple[list[bytes], bool]:
    """One page by creation order, with the same cursor rules as `base.page_of`, done by the indexes."""
    where = "thread = ?"
    params: list[object] = [thread]
    if query.run_id is not None:
        where += " AND run_id = ?"
        params.append(query.run_id)

    def position(message_id: str) -> int | None:
        row = db.execute(f"SELECT seq FROM messages WHERE {where} AND id = ?", (*params, message_id)).fetchone()
        return None if row is None else int(row[0])

    forward = query.order == "asc"
    after = before = None
    if query.after is not None:
        after = position(query.after)
        if after is None:
            return [], False
        where += " AND seq > ?" if forward else " AND seq < ?"
        params.append(after)
    if query.before is not None:
        before = position(query.before)
        if before is None or (after is not None and (before <= after if forward else before >= after)):
            return [], False
        where += " AND seq < ?" if forward else " AND seq > ?"
        params.append(before)
    # Before a cursor, the page is the `limit` messages nearest to it: read backwards, then turn around.
    backwards = before is not None
    direction = "ASC" if forward != backwards else "DESC"
    rows = db.execute(
        f"SELECT data FROM messages WHERE {where} ORDER BY seq {direction} LIMIT ?", (*params, query.limit + 1)
    ).fetchall()
    chosen = [bytes(data) for (data,) in rows[: query.limit]]
    if backwards:
        chosen.reverse()
    return chosen, len(rows) > query.limit


def sqlite_store(url: str, max_threads: int, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> SqliteStore:
    return SqliteStore(sqlite_path(url), max_threads, max_file_bytes)


register(
    Backend(
        "sqlite",
        "sqlite:PATH",
        sqlite_store,
        shared_between_processes=True,
        summary="a file that survives restarts and crashes and is shared by --workers",
    )
)


async def aenumerate(items: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    n = 0
    async for item in items:
        yield n, item
        n += 1


def loads(data: bytes) -> JSON:
    value: JSON = orjson.loads(data)
    return value
