"""The container image's entry point (mock_server/container.py): when it locks the admin API with a token of its
own. The image itself is tested by `make image-check` (tests/image)."""

from __future__ import annotations

from mock_server.container import TOKEN_VARIABLE, given, locked_admin

IMAGE_ENV = {"THREADS_MOCK_HOST": "0.0.0.0", "THREADS_MOCK_PORT": "4010"}


def test_a_bind_beyond_loopback_without_a_token_gets_a_random_one() -> None:
    first, second = locked_admin(IMAGE_ENV, []), locked_admin(IMAGE_ENV, [])
    assert set(first) == {TOKEN_VARIABLE}
    assert len(first[TOKEN_VARIABLE]) >= 32 and first != second


def test_a_given_token_or_a_loopback_bind_adds_nothing() -> None:
    assert locked_admin({**IMAGE_ENV, TOKEN_VARIABLE: "mine"}, []) == {}
    assert locked_admin(IMAGE_ENV, ["--admin-token", "mine"]) == {}
    assert locked_admin(IMAGE_ENV, ["--admin-token=mine"]) == {}
    assert locked_admin(IMAGE_ENV, ["--host", "127.0.0.1"]) == {}
    assert locked_admin({}, []) == {}  # the server's own default host, 127.0.0.1
    assert locked_admin({"THREADS_MOCK_HOST": "::1"}, []) == {}
    # An empty value is no value, as the server reads it.
    assert set(locked_admin({**IMAGE_ENV, TOKEN_VARIABLE: ""}, [])) == {TOKEN_VARIABLE}


def test_arguments_beat_the_environment_and_the_last_one_counts() -> None:
    assert set(locked_admin({"THREADS_MOCK_HOST": "127.0.0.1"}, ["--host", "::"])) == {TOKEN_VARIABLE}
    assert given(["--host", "::", "--seed", "7", "--host=10.0.0.1"], "--host") == "10.0.0.1"
    assert given(["--host"], "--host") is None
    assert given(["--hostname", "x"], "--host") is None
