"""The settings table: one declaration per setting, read the same way from every source, and every name or
value that cannot be read refused with the setting, where it came from and the nearest valid name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mock_server.cli import main, parser
from mock_server.settings import (
    OPTIONS,
    SERVER_OPTIONS,
    FixtureSettings,
    Settings,
    SettingsError,
    marker_values,
)

ROOT = Path(__file__).resolve().parent.parent


def toml(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "mock.toml"
    config.write_text(text, encoding="utf-8")
    return config


def from_file(tmp_path: Path, text: str) -> Settings:
    return Settings.load({"config": toml(tmp_path, text)}, environ={})


# ---- the table ----


def test_every_setting_is_declared_once_and_spelled_once_per_source() -> None:
    names = [option.name for option in OPTIONS]
    assert len(names) == len(set(names))
    env_names = [name for option in OPTIONS for name in option.env_names]
    assert len(env_names) == len(set(env_names))
    flags = [option.flag for option in SERVER_OPTIONS if option.cli]
    assert len(flags) == len(set(flags))
    assert [option.name for option in SERVER_OPTIONS] == [name for name in vars(Settings()) if not name.startswith("_")]
    assert Settings() == Settings(**{option.name: option.default for option in SERVER_OPTIONS})
    assert FixtureSettings() == FixtureSettings(api_key="sk-mock")


def test_the_help_of_every_option_gives_its_environment_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in SERVER_OPTIONS:
        assert (option.flag in text) == option.cli
        for name in option.env_names:
            assert name in text


def test_the_readme_lists_every_option() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    options = readme[readme.index("## Options") : readme.index("## Testing the bad days")]
    for option in SERVER_OPTIONS:
        if option.cli:
            assert f"`{option.flag}" in options, option.flag
        if option.env:
            assert any(f"`{name}" in options for name in option.env_names), option.name
    pytest_section = readme[readme.index("## pytest") :]
    for option in OPTIONS:
        if option.ini:
            assert option.ini_name in pytest_section and option.pytest_flag in pytest_section, option.name


# ---- every source, one reading ----


def test_the_same_setting_from_each_source(tmp_path: Path) -> None:
    config = toml(tmp_path, 'mode = "lenient"\nseed = 3\napi_key = ["sk-a"]\nmax-body-size = 10\n')
    assert from_file(tmp_path, config.read_text()) == Settings(
        mode="lenient", seed=3, api_keys=("sk-a",), max_body_size=10, config=config
    )
    environ = {"THREADS_MOCK_MODE": "lenient", "THREADS_MOCK_SEED": "3", "THREADS_MOCK_API_KEYS": "sk-a"}
    assert Settings.load({}, environ) == Settings(mode="lenient", seed=3, api_keys=("sk-a",))
    options = vars(parser().parse_args(["serve", "--mode", "lenient", "--seed", "3", "--api-key", "sk-a"]))
    options.pop("command")
    assert Settings.load(options, {}) == Settings(mode="lenient", seed=3, api_keys=("sk-a",))
    assert marker_values((), {"mode": "lenient", "seed": 3, "api_keys": ["sk-a"]}) == {
        "mode": "lenient",
        "seed": 3,
        "api_keys": ("sk-a",),
    }


def test_every_spelling_of_before_still_works(tmp_path: Path) -> None:
    assert Settings.load({}, {"THREADS_MOCK_API_KEY": "k1, k2"}).api_keys == ("k1", "k2")
    assert Settings.load({}, {"THREADS_MOCK_API_KEYS": "k1,k2"}).api_keys == ("k1", "k2")
    assert Settings.load({}, {"THREADS_MOCK_FAULT": "POST /v1/threads: status=503"}).faults == (
        "POST /v1/threads: status=503",
    )
    assert Settings.load({}, {"THREADS_MOCK_SEED": ""}).seed is None
    options = vars(parser().parse_args(["serve", "--api-key", "a", "--api-key", "b", "--fault", "*: reset"]))
    assert (options["api_keys"], options["faults"]) == (["a", "b"], ["*: reset"])
    assert from_file(tmp_path, '[server]\napi_key = "k1,k2"\nport = 1234\n').api_keys == ("k1", "k2")


def test_the_server_table_and_the_rule_tables(tmp_path: Path) -> None:
    settings = from_file(
        tmp_path,
        '[server]\nport = 4321\n\n[[faults]]\nmatch = "POST /v1/threads"\nstatus = 503\n\n'
        '[[replies]]\nmatch = "ping"\nreply = "pong"\n',
    )
    assert settings.port == 4321
    assert settings.faults == ({"match": "POST /v1/threads", "status": 503},)
    assert settings.replies == ({"match": "ping", "reply": "pong"},)


def test_command_line_beats_environment_beats_file(tmp_path: Path) -> None:
    config = toml(tmp_path, 'port = 1111\nseed = 1\nmode = "lenient"\n')
    environ = {"THREADS_MOCK_CONFIG": str(config), "THREADS_MOCK_PORT": "2222", "THREADS_MOCK_SEED": "2"}
    settings = Settings.load({"port": 3333}, environ)
    assert (settings.port, settings.seed, settings.mode, settings.config) == (3333, 2, "lenient", config)


# ---- a value in the wrong case is read, not dropped ----


def test_a_choice_in_another_case_is_normalised(tmp_path: Path) -> None:
    assert from_file(tmp_path, 'mode = "LENIENT"\nlog_level = "Debug"\n').mode == "lenient"
    assert Settings.load({}, {"THREADS_MOCK_LOG_LEVEL": "WARNING"}).log_level == "warning"
    assert vars(parser().parse_args(["serve", "--log-level", "INFO", "--mode", "Lenient"]))["log_level"] == "info"
    assert marker_values((), {"mode": "LENIENT"}) == {"mode": "lenient"}


def test_a_choice_that_is_none_of_them_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"mode: invalid choice: 'lenient-ish' \(choose from strict, lenient\)"):
        from_file(tmp_path, 'mode = "lenient-ish"\n')


# ---- what cannot be read is refused, saying what and where ----


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"THREADS_MOCK_PROT": "1"},
            "unknown environment variable THREADS_MOCK_PROT; did you mean THREADS_MOCK_PORT?",
        ),
        (
            {"THREADS_MOCK_PORT": "abc"},
            "port: invalid int value: 'abc' (from environment variable THREADS_MOCK_PORT)",
        ),
        (
            {"THREADS_MOCK_FAULTS": "POST threads: status=503"},
            "faults: ",
        ),
        (
            {"THREADS_MOCK_API_KEY": "a", "THREADS_MOCK_API_KEYS": "b"},
            "api_keys is given twice in the environment: as THREADS_MOCK_API_KEY and as THREADS_MOCK_API_KEYS",
        ),
        (
            {"THREADS_MOCK_REPLIES": "[]"},
            "environment variable THREADS_MOCK_REPLIES: replies cannot be set from the environment",
        ),
    ],
)
def test_the_environment_refuses(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.load({}, environ)
    assert message in str(refused.value)


def test_the_workers_options_are_outside_the_prefix() -> None:
    assert Settings.load({}, {"_THREADS_MOCK_WORKER_OPTIONS": "{}", "OTHER": "x"}) == Settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prot = 1\n", "unknown key 'prot' in {config}; did you mean 'port'?"),
        ("[sever]\nport = 1\n", "unknown key 'sever' in {config}; did you mean 'server'?"),
        ("[server]\nsed = 1\n", "unknown key 'sed' in {config}; did you mean 'seed'?"),
        ('port = "abc"\n', "port: invalid int value: 'abc' (from key 'port' in {config})"),
        ("port = 1\n[server]\nport = 2\n", "'port' is given twice in {config}: at the top and in [server]"),
        ('config = "other.toml"\n', "key 'config' in {config}: config cannot be set from the config file"),
        ('[[replies]]\nmatch = "x"\nreplied = "y"\n', "replies: unknown key 'replied'"),
        ("[[faults]]\nstatus = 503\nevery = 0\n", "faults: every must be at least 1"),
        ("port = \n", "is not valid TOML"),
    ],
)
def test_the_config_file_refuses(tmp_path: Path, text: str, message: str) -> None:
    config = toml(tmp_path, text)
    with pytest.raises(SettingsError) as refused:
        Settings.load({"config": config}, environ={})
    assert message.format(config=config) in str(refused.value)


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=re.escape(f"cannot read the config file {tmp_path / 'nope.toml'}")):
        Settings.load({"config": tmp_path / "nope.toml"}, environ={})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sed": 7}, "unknown threads_mock marker argument 'sed'; did you mean 'seed'?"),
        ({"seed": "seven"}, "seed: invalid int value: 'seven' (from threads_mock marker argument 'seed')"),
        ({"port": 4010}, "threads_mock marker argument 'port': port cannot be set from the threads_mock marker"),
        ({"rate_limit": "5/week"}, "rate_limit: a rate limit is like 60/min"),
        ({"assert_all_faults_applied": "maybe"}, "assert_all_faults_applied: expected true or false"),
    ],
)
def test_the_marker_refuses(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        marker_values((), kwargs)
    assert message in str(refused.value)


def test_serve_refuses_with_the_usual_form_and_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADS_MOCK_SED", "7")
    assert main(["serve", "--port", "0"]) == 2
    assert capsys.readouterr().err == (
        "threads-mock serve: error: unknown environment variable THREADS_MOCK_SED; did you mean THREADS_MOCK_SEED?\n"
    )
