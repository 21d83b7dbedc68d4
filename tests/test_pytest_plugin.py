"""The pytest plugin, used the way users use it: sample suites run by pytest's own `pytester`."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SAMPLE = """
import asyncio
import httpx2
import openai
import pytest
from openai import AsyncOpenAI, OpenAI


def test_client_and_state(threads_mock):
    assert threads_mock.base_url.endswith("/v1")
    client = threads_mock.openai_client()
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}], metadata={"k": "v"})
    assert threads_mock.threads[thread.id]["metadata"] == {"k": "v"}
    assert len(threads_mock.threads) == 1
    assert [m["content"][0]["text"]["value"] for m in threads_mock.threads.messages(thread.id)] == ["hi"]


def test_seeding_state(threads_mock):
    seeded = threads_mock.threads.create(metadata={"seeded": "yes"})
    got = threads_mock.openai_client().beta.threads.retrieve(seeded["id"])
    assert got.metadata == {"seeded": "yes"}


def test_journal_has_parsed_bodies(threads_mock):
    threads_mock.openai_client().beta.threads.create(metadata={"a": "b"})
    (entry,) = threads_mock.requests
    assert (entry.method, entry.path, entry.status) == ("POST", "/v1/threads", 200)
    assert entry.json == {"metadata": {"a": "b"}}
    assert entry.headers["openai-beta"] == "assistants=v2"


def test_fault_for_this_test_as_context_manager(threads_mock):
    client = threads_mock.openai_client(max_retries=0)
    with threads_mock.fault(match="POST /v1/threads", status=503):
        with pytest.raises(openai.InternalServerError):
            client.beta.threads.create()
    assert client.beta.threads.create().object == "thread"


@pytest.mark.threads_mock(faults=[{"match": "GET /v1/threads/*", "status": 429, "retry_after": 1}])
def test_marker_faults(threads_mock):
    client = threads_mock.openai_client(max_retries=0)
    thread = client.beta.threads.create()
    with pytest.raises(openai.RateLimitError):
        client.beta.threads.retrieve(thread.id)


@pytest.mark.threads_mock(seed=7)
def test_seeded_ids_repeat(threads_mock):
    first = threads_mock.openai_client().beta.threads.create().id
    threads_mock.reset()
    assert threads_mock.openai_client().beta.threads.create().id == first


@pytest.mark.threads_mock(mode="lenient")
def test_lenient_marker(threads_mock):
    assert threads_mock.openai_client().beta.threads.retrieve("thread_id").id == "thread_id"


def test_async_client(threads_mock):
    async def main():
        async with threads_mock.async_openai_client() as client:
            thread = await client.beta.threads.create()
            return (await client.beta.threads.retrieve(thread.id)).id == thread.id
    assert asyncio.run(main())


@pytest.mark.anyio
async def test_an_async_test_function(threads_mock):
    async with threads_mock.async_openai_client() as client:
        thread = await client.beta.threads.create(metadata={"from": "async"})
        assert (await client.beta.threads.retrieve(thread.id)).metadata == {"from": "async"}
    assert threads_mock.threads[thread.id]["metadata"] == {"from": "async"}


def test_in_process_sync(threads_mock_app, threads_mock_transport):
    http = httpx2.Client(transport=threads_mock_transport, base_url="http://mock/v1")
    client = OpenAI(base_url="http://mock/v1", api_key="sk-x", http_client=http)
    thread = client.beta.threads.create(metadata={"where": "in-process"})
    assert client.beta.threads.retrieve(thread.id).metadata == {"where": "in-process"}


def test_in_process_async(threads_mock_async_transport):
    async def main():
        http = httpx2.AsyncClient(transport=threads_mock_async_transport, base_url="http://mock/v1")
        client = AsyncOpenAI(base_url="http://mock/v1", api_key="sk-x", http_client=http)
        thread = await client.beta.threads.create()
        return thread.object
    assert asyncio.run(main()) == "thread"
"""


def test_sample_suite_runs_green(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sample=SAMPLE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=11)


def test_session_options_reach_the_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_options="""
        def test_lenient_from_the_command_line(threads_mock):
            client = threads_mock.openai_client()
            assert client.beta.threads.retrieve("thread_placeholder").id == "thread_placeholder"
            assert threads_mock.api_key == "sk-session"
        """
    )
    result = pytester.runpytest(
        "--threads-mock-mode=lenient", "--threads-mock-api-key=sk-session", "-W", "ignore::DeprecationWarning"
    )
    result.assert_outcomes(passed=1)


def test_failure_report_carries_the_journal(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nthreads_mock_journal_on_failure = true\n")
    pytester.makepyfile(
        test_wrong="""
        def test_wrong_assertion(threads_mock):
            client = threads_mock.openai_client()
            thread = client.beta.threads.create(metadata={"who": "journal"})
            assert thread.metadata == {"who": "somebody else"}
        """
    )
    result = pytester.runpytest("-W", "ignore::DeprecationWarning")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*threads-mock journal*", '*POST /v1/threads -> 200*{"metadata": {"who": "journal"}}*']
    )


ISOLATION = """
import pytest

@pytest.mark.parametrize("round", range(6))
def test_never_sees_another_tests_state(threads_mock, round):
    assert len(threads_mock.threads) == 0
    assert threads_mock.requests == []
    assert threads_mock.faults() == []
    threads_mock.openai_client().beta.threads.create()
    threads_mock.fault(match="*", status=500, times=1000)
"""


@pytest.mark.parametrize("workers", [[], ["-p", "xdist", "-n", "2"]], ids=["serial", "xdist"])
def test_isolation_between_tests(pytester: pytest.Pytester, workers: list[str]) -> None:
    pytester.makepyfile(test_isolation=ISOLATION)
    result = pytester.runpytest(*workers, "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=6)


PRISM_STYLE = """
import httpx

HEADERS = {"Authorization": "Bearer sk-anything", "OpenAI-Beta": "assistants=v2"}

def test_placeholder_ids_at_the_root(threads_mock):
    with httpx.Client(base_url=threads_mock.url, headers=HEADERS) as api:
        thread = api.get("/threads/thread_id")
        assert thread.status_code == 200 and thread.json()["id"] == "thread_id"
        message = api.get("/threads/thread_id/messages/message_id")
        assert message.status_code == 200 and message.json()["object"] == "thread.message"
        update = api.post("/threads/thread_id", json={"metadata": {"k": "v"}})
        assert update.status_code == 200
        assert api.get("/threads/thread_id").json()["metadata"] == {"k": "v"}
"""


def test_prism_style_suite_passes_lenient_and_fails_strict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_prism=PRISM_STYLE)
    lenient = pytester.runpytest("--threads-mock-mode=lenient")
    lenient.assert_outcomes(passed=1)
    strict = pytester.runpytest()
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["*assert (404 == 200)*"])


WHAT_NEVER_HAPPENED = """
import pytest


@pytest.mark.threads_mock(sed=7)
def test_a_typo_in_the_marker(threads_mock):
    pass


@pytest.mark.threads_mock(assert_all_faults_applied=True)
def test_a_fault_that_never_fired(threads_mock):
    threads_mock.fault(match="POST /v1/threads", status=503)


@pytest.mark.threads_mock(
    assert_all_faults_applied=True, faults=[{"match": "POST /v1/threads", "status": 500, "after": 1}]
)
def test_a_marker_fault_that_matched_but_never_fired(threads_mock):
    threads_mock.openai_client(max_retries=0).beta.threads.create()


@pytest.mark.threads_mock(assert_all_faults_applied=True)
def test_a_fault_that_fired(threads_mock):
    client = threads_mock.openai_client(max_retries=0)
    handle = threads_mock.fault(match="POST /v1/threads", status=503, times=1)
    with pytest.raises(Exception):
        client.beta.threads.create()
    assert (handle.matched, handle.applied) == (1, 1)
    client.beta.threads.create()
    assert (handle.matched, handle.applied) == (2, 1)


@pytest.mark.threads_mock(assert_all_faults_applied=True)
def test_a_failing_test_is_not_blamed_for_its_faults(threads_mock):
    threads_mock.fault(match="POST /v1/threads", status=503)
    assert 1 == 2


@pytest.mark.threads_mock(api_key="sk-marker", mode="LENIENT", rate_limit="1/min", seed=5)
def test_the_other_marker_arguments(threads_mock):
    import openai

    client = threads_mock.openai_client(max_retries=0)
    assert client.beta.threads.retrieve("thread_anything").id == "thread_anything"
    with pytest.raises(openai.RateLimitError):
        client.beta.threads.create()
    assert threads_mock.requests[0].headers["authorization"] == "Bearer sk-marker"
"""


def test_what_never_happened_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_never=WHAT_NEVER_HAPPENED)
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=4, failed=1, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_a_typo_in_the_marker*",
            "*unknown threads_mock marker argument 'sed'; did you mean 'seed'?",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_fault_that_never_fired*",
            "*assert_all_faults_applied=True): 1 fault rule(s) never applied:",
            '*fault_1 {"match": "POST /v1/threads", "status": 503} (matched 0, applied 0)',
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_marker_fault_that_matched_but_never_fired*",
            '*fault_1 {"match": "POST /v1/threads", "status": 500, "after": 1} (matched 1, applied 0)',
        ]
    )
    result.stdout.fnmatch_lines(["FAILED *test_a_failing_test_is_not_blamed_for_its_faults*"])
    assert "ERROR *test_a_failing_test_is_not_blamed" not in result.stdout.str()
    assert "teardown of test_a_failing_test_is_not_blamed" not in result.stdout.str()


def test_the_ini_option_checks_every_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nthreads_mock_assert_all_faults_applied = true\nthreads_mock_mode = Lenient\n")
    pytester.makepyfile(
        test_ini="""
        import pytest

        def test_never_fired(threads_mock):
            threads_mock.fault(match="DELETE /v1/threads/*", status=500)
            assert threads_mock.openai_client().beta.threads.retrieve("thread_x").id == "thread_x"

        @pytest.mark.threads_mock(assert_all_faults_applied=False)
        def test_excused_by_its_marker(threads_mock):
            threads_mock.fault(match="DELETE /v1/threads/*", status=500)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_never_fired*", "*fault_1*(matched 0, applied 0)"])


def test_a_bad_session_option_stops_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_any="def test_any(threads_mock):\n    pass\n")
    result = pytester.runpytest("--threads-mock-seed=seven")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*threads-mock: seed: invalid int value: 'seven' (from pytest option --threads-mock-seed)*"]
    )
