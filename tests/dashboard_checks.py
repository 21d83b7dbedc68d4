"""The dashboard in a real headless browser: Debian's Chromium driven by Playwright, against a real server,
with the official SDK as the client. `make test-dashboard` runs them (not `make test`: a browser start costs
seconds); it installs Chromium (scripts/chromium) and the `dashboard-tests` extra first.

DASHBOARD_SCREENSHOT=docs/dashboard.png (`make dashboard-screenshot`) writes the README's picture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from mock_server import Settings, create_app
from mock_server.server import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent
# What the machine's closed network needs: no background connections (each refused, and logged).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    given = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if given:
        return given
    # The project's own installer (apt-get as root): never skipped for want of a browser.
    installer = [str(ROOT / "scripts" / "chromium")]
    return subprocess.run(installer, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def start() -> Iterator[Callable[..., BackgroundServer[Any]]]:
    servers: list[BackgroundServer[Any]] = []

    def started(**settings: Any) -> BackgroundServer[Any]:
        server = BackgroundServer(create_app(Settings(**settings))).start()
        servers.append(server)
        return server

    yield started
    for server in servers:
        server.stop()


class Watched:
    """A page, and every console error and uncaught exception it had."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Watched]]:
    contexts = []

    def opened(url: str) -> Watched:
        context = browser.new_context(viewport={"width": 1400, "height": 860})
        contexts.append(context)
        watched = Watched(context.new_page())
        answer = watched.page.goto(url)
        assert answer is not None and answer.status == 200, answer and answer.status
        return watched

    yield opened
    for context in contexts:
        context.close()


def sdk(server: BackgroundServer[Any], key: str = "sk-mock") -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=10)


def journal_row(page: Page, text: str, status: int) -> Any:
    return page.locator(f'#journal tbody tr[data-status="{status}"]').filter(has_text=text)


def test_the_page_loads_with_no_console_errors(start: Callable[..., BackgroundServer[Any]], open_page: Any) -> None:
    server = start()
    sdk(server).beta.threads.create()
    watched = open_page(f"{server.url}/__mock__/")
    expect(journal_row(watched.page, "/v1/threads", 200)).to_have_count(1)
    # Every tab once, each loading what it shows, and a poll or two more.
    for tab in ("rules", "state", "requests"):
        watched.page.click(f"#tab-{tab}")
        watched.page.wait_for_timeout(700)
    expect(watched.page.locator("#health")).to_contain_text("threads")
    assert watched.errors == []


def test_a_request_made_by_the_sdk_appears_within_a_second(
    start: Callable[..., BackgroundServer[Any]], open_page: Any
) -> None:
    server = start()
    watched = open_page(f"{server.url}/__mock__/")
    page = watched.page
    expect(page.locator("#journal-empty")).to_be_visible()
    client = sdk(server)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    made = time.monotonic()
    expect(journal_row(page, "/v1/threads", 200)).to_have_count(1, timeout=1000)
    assert time.monotonic() - made < 1.0
    # Then one more, on a path with the thread's id, without reload, and the filter by thread id keeps it alone.
    client.beta.threads.messages.list(thread.id)
    expect(journal_row(page, f"/v1/threads/{thread.id}/messages", 200)).to_have_count(1, timeout=1000)
    page.fill("#f-thread", thread.id)
    expect(page.locator("#journal tbody tr")).to_have_count(1)
    page.fill("#f-thread", "")
    page.select_option("#f-method", "POST")
    expect(page.locator("#journal tbody tr").filter(has_text="GET")).to_have_count(0)
    expect(page.locator("#journal tbody tr")).to_have_count(1)
    expect(page.locator("#journal tbody tr").first).to_contain_text("POST")
    assert watched.errors == []


def test_opening_a_400_shows_the_failing_field_and_rule(
    start: Callable[..., BackgroundServer[Any]], open_page: Any
) -> None:
    server = start()
    client = sdk(server)
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.messages.create(thread.id, role="robot", content="Hi")  # type: ignore[arg-type]
    watched = open_page(f"{server.url}/__mock__/")
    page = watched.page
    journal_row(page, "/messages", 400).click()
    why = page.locator("#why")
    expect(why).to_contain_text("Invalid value: 'robot'. Supported values are: 'user' and 'assistant'.")
    expect(why.locator("dd").first).to_have_text("role")
    expect(why).to_contain_text("enum")
    expect(why).to_contain_text("#/properties/role/enum")
    # The exchange is whole: the answer's body (the error the SDK got), the request's body and headers beside it.
    expect(page.locator("#exchange pre").first).to_contain_text('"invalid_request_error"')
    expect(page.locator("#exchange pre").last).to_contain_text('"robot"')
    expect(page.locator("#exchange")).to_contain_text("openai-beta")
    assert watched.errors == []


def test_a_fault_added_from_the_form_fails_the_next_sdk_call_once(
    start: Callable[..., BackgroundServer[Any]], open_page: Any
) -> None:
    server = start()
    watched = open_page(f"{server.url}/__mock__/")
    page = watched.page
    page.click("#tab-rules")
    # A rule the grammar refuses: its error inline, nothing added.
    page.fill("#fault-text", "stauts=503")
    page.click("#fault-add")
    expect(page.locator("#fault-error")).to_contain_text("unknown key 'stauts'")
    expect(page.locator("#faults tbody tr[data-id]")).to_have_count(0)
    page.fill("#fault-where", "POST /v1/threads")
    page.fill("#fault-text", "status=503; times=1")
    page.click("#fault-add")
    rule = page.locator("#faults tbody tr[data-id]")
    expect(rule).to_have_count(1)
    expect(page.locator("#fault-error")).to_be_hidden()
    client = sdk(server)
    with pytest.raises(openai.InternalServerError):
        client.beta.threads.create()
    assert client.beta.threads.create().id.startswith("thread_")
    # The counts are live: matched twice, applied once.
    expect(rule.locator("td.applied")).to_have_text("1")
    expect(rule.locator("td.matched")).to_have_text("2")
    rule.get_by_role("button", name="remove").click()
    expect(page.locator("#faults tbody tr[data-id]")).to_have_count(0)
    assert httpx.get(f"{server.url}/__mock__/faults").json()["data"] == []
    # Chromium logs every answer of 400 or more to a fetch; the refused rule's is the one expected.
    refused = "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert watched.errors == [refused]


def test_a_thread_made_by_the_sdk_is_browsable_with_its_messages_and_runs(
    start: Callable[..., BackgroundServer[Any]], open_page: Any
) -> None:
    server = start()
    client = sdk(server, key="sk-team-a")
    sdk(server, key="sk-team-b").beta.threads.create()
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is my parcel?"}])
    assistant = client.beta.assistants.create(model="gpt-4o", name="Support")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    watched = open_page(f"{server.url}/__mock__/")
    page = watched.page
    page.click("#tab-state")
    page.select_option("#s-project", "sk-team-a")
    item = page.locator(f'#threads li[data-id="{thread.id}"]')
    expect(item).to_be_visible()
    expect(page.locator("#threads li[data-id]")).to_have_count(1)
    item.click()
    messages = page.locator("#messages .message")
    expect(messages).to_have_count(2)
    expect(messages.first).to_contain_text("Where is my parcel?")
    expect(messages.last).to_contain_text('You said: "Where is my parcel?"')
    expect(page.locator(f'#thread .run[data-id="{run.id}"]')).to_contain_text("completed")
    expect(page.locator("#others")).to_contain_text("Assistants (1)")
    assert watched.errors == []


def test_a_streamed_run_shows_its_events_as_they_are_sent(
    start: Callable[..., BackgroundServer[Any]], open_page: Any
) -> None:
    server = start()
    words = "one two three four five six seven eight nine ten"
    # Four deltas a second: the stream lasts two seconds and more.
    httpx.post(f"{server.url}/__mock__/replies", json={"reply": words, "deltas_per_second": 4})
    client = sdk(server)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Count"}])
    assistant = client.beta.assistants.create(model="gpt-4o")
    watched = open_page(f"{server.url}/__mock__/#state")
    page = watched.page
    page.locator(f'#threads li[data-id="{thread.id}"]').click()
    expect(page.locator("#messages .message")).to_have_count(1)
    page.wait_for_timeout(400)  # the page has asked for stream events once: the server records them now
    sent: list[str] = []

    def consume() -> None:
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
            sent.extend(event.event for event in stream)

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        events = page.locator("#thread .run .stream .event")
        expect(events.filter(has_text="thread.message.delta").first).to_be_visible(timeout=1500)
        # Seen while the stream still goes on, and more of it as it goes.
        assert consumer.is_alive()
        shown = events.count()
        expect(events).not_to_have_count(shown, timeout=1500)
    finally:
        consumer.join(10)
    expect(events.filter(has_text="thread.run.completed")).to_have_count(1)
    shown_names = [line.split()[1] for line in events.all_inner_texts()]
    assert shown_names == [name for name in sent if name != "done"]
    expect(page.locator("#messages .message").last).to_contain_text(words)
    assert watched.errors == []


def test_with_an_admin_token_the_page_takes_it_once_and_sends_it(
    start: Callable[..., BackgroundServer[Any]], open_page: Any, browser: Browser
) -> None:
    server = start(admin_token="s3cret")
    context = browser.new_context()
    refused = context.new_page().goto(f"{server.url}/__mock__/")
    assert refused is not None and refused.status == 401
    context.close()
    watched = open_page(f"{server.url}/__mock__/?token=s3cret")
    page = watched.page
    # Out of the address bar, and in every call the page makes.
    expect(page).to_have_url(f"{server.url}/__mock__/")
    sdk(server).beta.threads.create()
    expect(journal_row(page, "/v1/threads", 200)).to_have_count(1, timeout=2000)
    assert watched.errors == []


def test_screenshot_of_a_seeded_session(
    start: Callable[..., BackgroundServer[Any]], open_page: Any, tmp_path: Path
) -> None:
    """The README's picture: a few clients' requests, a refused one opened, a fault rule spent."""
    server = start(seed=7)
    httpx.post(f"{server.url}/__mock__/faults", json={"rule": "POST /v1/threads/*/runs: status=429; times=1"})
    client = sdk(server)
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "My order #1234 arrived damaged."}], metadata={"customer": "c-42"}
    )
    assistant = client.beta.assistants.create(model="gpt-4o", name="Support")
    with pytest.raises(openai.RateLimitError):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.create(metadata={"x" * 70: "too long a key"})
    client.beta.threads.messages.list(thread.id)
    watched = open_page(f"{server.url}/__mock__/")
    page = watched.page
    journal_row(page, "/v1/threads", 400).click()
    expect(page.locator("#why")).to_contain_text("metadata")
    page.wait_for_timeout(1300)  # the new rows' highlight faded
    target = Path(os.environ.get("DASHBOARD_SCREENSHOT") or tmp_path / "dashboard.png")
    if not target.is_absolute():
        target = ROOT / target
    page.screenshot(path=str(target))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 10_000
    assert watched.errors == []
