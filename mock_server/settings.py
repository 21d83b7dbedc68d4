"""Every setting, declared once: a field of `Settings` (the server) or of `FixtureSettings` (the pytest fixture),
made with `setting(...)`, which says its type, default, help and where it may be given. From that one
declaration come the `threads-mock serve` options, the THREADS_MOCK_* variables, the keys of the TOML file,
the arguments of the `threads_mock` marker and the pytest ini options.

Precedence, highest first: command line, environment, file. A name no setting answers to is refused with
the nearest valid one; a value that cannot be read is refused with the setting and where it came from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import enum
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .budget import DEFAULT_MAX_MEMORY, parse_size
from .store.base import DEFAULT_MAX_DISK, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_THREAD_MESSAGES, DEFAULT_MAX_THREADS

ENV_PREFIX = "THREADS_MOCK_"
DEFAULT_MAX_BODY_SIZE = 1024 * 1024


class SettingsError(ValueError):
    """A setting that cannot be read; the message names it and where it came from."""


class Source(enum.Enum):
    COMMAND_LINE = "the command line"
    ENVIRONMENT = "the environment"
    FILE = "the config file"
    MARKER = "the threads_mock marker"
    PYTEST = "the pytest options"


# ---- types of value -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueType:
    """How one type of value is read from text (command line, environment, ini) or data (TOML, marker).

    `parse` raises ValueError with the problem in words; it accepts its own results unchanged.
    `item` reads one occurrence of a repeatable command-line option."""

    name: str
    parse: Callable[[Any], Any]
    item: Callable[[str], Any] | None = None
    choices: tuple[str, ...] = ()


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value


def numeric(convert: type[int] | type[float], accepted: tuple[type, ...]) -> Callable[[Any], Any]:
    """A number as data (never a bool, whose type is not among `accepted`), or as text."""

    def parse(value: Any) -> Any:
        if type(value) in accepted:
            return convert(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return convert(value)
        raise ValueError(f"invalid {convert.__name__} value: {value!r}")

    return parse


def count(value: Any) -> int:
    """A whole number of at least 1."""
    found: int = numeric(int, (int,))(value)
    if found < 1:
        raise ValueError(f"expected a number of at least 1, got {value!r}")
    return found


TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")


def flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise ValueError(f"expected true or false, got {value!r}")


def path(value: Any) -> Path:
    if isinstance(value, str | os.PathLike) and str(value):
        return Path(value)
    raise ValueError(f"expected a file path, got {value!r}")


def optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An empty value (THREADS_MOCK_SEED=) is no value."""

    def parse_optional(value: Any) -> Any:
        return None if value is None or value == "" else parse(value)

    return parse_optional


def choice(*values: str) -> ValueType:
    """One of `values`, in any case: `--mode LENIENT` is `lenient`."""

    def parse(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in values:
            return value.strip().lower()
        raise ValueError(f"invalid choice: {value!r} (choose from {', '.join(values)})")

    return ValueType("choice", parse, choices=values)


def api_keys(value: Any) -> tuple[str, ...]:
    """`k1,k2` (environment), or a list (TOML, repeated --api-key)."""
    if isinstance(value, str):
        return tuple(key.strip() for key in value.split(",") if key.strip())
    if isinstance(value, list | tuple) and all(isinstance(key, str) for key in value):
        return tuple(value)
    raise ValueError(f"expected keys as text or a list of text, got {value!r}")


def fault_rule(rule: Any) -> Any:
    from .faults import parse_any

    if not isinstance(rule, str | Mapping):
        raise ValueError(f"a fault rule is text or a table, got {rule!r}")
    try:
        parse_any(rule)
    except ValueError as error:
        raise ValueError(f"{error} (in {rule!r})") from None
    return rule


def fault_rules(value: Any) -> tuple[str | Mapping[str, Any], ...]:
    """One rule per line (environment), or a list of rules as text or tables (TOML, marker, --fault)."""
    if isinstance(value, str):
        return tuple(fault_rule(line.strip()) for line in value.splitlines() if line.strip())
    if isinstance(value, list | tuple):
        return tuple(fault_rule(rule) for rule in value)
    raise ValueError(f"expected fault rules, got {value!r}")


def reply_rules(value: Any) -> tuple[Mapping[str, Any], ...]:
    from .runs import parse_reply_rule

    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of reply rules, got {value!r}")
    for rule in value:
        parse_reply_rule(rule)
    return tuple(value)


def pace(value: Any) -> str:
    from .runs.pace import pace_setting

    return pace_setting(value)


def rate_limit(value: Any) -> str:
    from .middleware.ratelimit import RateLimit

    RateLimit.parse(text(value))
    return str(value)


TEXT = ValueType("str", text)
OPTIONAL_TEXT = ValueType("str", optional(text))
INTEGER = ValueType("int", numeric(int, (int,)))
OPTIONAL_INTEGER = ValueType("int", optional(numeric(int, (int,))))
COUNT = ValueType("int", count)
NUMBER = ValueType("float", numeric(float, (int, float)))
FLAG = ValueType("bool", flag)
OPTIONAL_PATH = ValueType("path", optional(path))
LOG_LEVEL = choice("critical", "error", "warning", "info", "debug")
MODE = choice("strict", "lenient")
HTTP = choice("auto", "httptools", "h11")
LOOP = choice("auto", "uvloop", "asyncio")
API_KEYS = ValueType("keys", api_keys, item=text)
FAULT_RULES = ValueType("rules", fault_rules, item=fault_rule)
REPLY_RULES = ValueType("replies", reply_rules)
RATE_LIMIT = ValueType("rate limit", optional(rate_limit))
PACE = ValueType("pace", pace)
SIZE = ValueType("size", parse_size)


# ---- the declaration of one setting ---------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One setting and every way to give it."""

    name: str
    value_type: ValueType
    default: Any
    help: str
    shown_default: str | None  # the default as the help says it, when str(default) would not do
    cli: bool  # an option of `threads-mock serve`
    flag: str  # its spelling there
    metavar: str | None
    repeatable: bool
    env: bool  # THREADS_MOCK_<NAME>, and THREADS_MOCK_<ALIAS>
    file: bool  # a key of the TOML file (`name`, an alias, or either with dashes)
    marker: bool  # an argument of @pytest.mark.threads_mock
    ini: bool  # a pytest ini option threads_mock_<name>, and --threads-mock-<name>
    aliases: tuple[str, ...]  # other names in the environment and the file

    @property
    def env_names(self) -> tuple[str, ...]:
        return tuple(f"{ENV_PREFIX}{name.upper()}" for name in (self.name, *self.aliases)) if self.env else ()

    @property
    def file_keys(self) -> tuple[str, ...]:
        names = (self.name, *self.aliases)
        return tuple(dict.fromkeys([*names, *(name.replace("_", "-") for name in names)])) if self.file else ()

    @property
    def ini_name(self) -> str:
        return f"threads_mock_{self.name}"

    @property
    def pytest_flag(self) -> str:
        return f"--threads-mock-{self.name.replace('_', '-')}"

    def help_with_default(self) -> str:
        unset = self.default is None or self.default is False or self.default == ()
        shown = self.shown_default or ("" if unset else str(self.default))
        notes = [f"default {shown}"] if shown else []
        if self.env_names:
            notes.append(f"env {' or '.join(self.env_names)}")
        return f"{self.help} ({'; '.join(notes)})" if notes else self.help

    def read(self, value: Any, origin: str) -> Any:
        try:
            return self.value_type.parse(value)
        except ValueError as error:
            raise SettingsError(f"{self.name}: {error} (from {origin})") from None


SETTING = "setting"


def setting(
    default: Any,
    value_type: ValueType,
    help: str,
    *,
    shown_default: str | None = None,
    cli: bool = True,
    flag: str | None = None,
    metavar: str | None = None,
    repeatable: bool = False,
    env: bool = True,
    file: bool = True,
    marker: bool = False,
    ini: bool = False,
    aliases: tuple[str, ...] = (),
) -> Any:
    """A dataclass field that declares its setting; the field's name is the setting's name."""
    declared = Option(
        name="",
        value_type=value_type,
        default=default,
        help=help,
        shown_default=shown_default,
        cli=cli,
        flag=flag or "",
        metavar=metavar,
        repeatable=repeatable,
        env=env,
        file=file,
        marker=marker,
        ini=ini,
        aliases=aliases,
    )
    return dataclasses.field(default=default, metadata={SETTING: declared})


def fixture_setting(default: Any, value_type: ValueType, help: str, *, marker: bool = True) -> Any:
    """A setting of the pytest fixture alone: a marker argument and an ini option, never the server's."""
    return setting(default, value_type, help, cli=False, env=False, file=False, marker=marker, ini=True)


def options_of(cls: type) -> tuple[Option, ...]:
    declared = [(f.name, f.metadata[SETTING]) for f in dataclasses.fields(cls)]
    return tuple(
        dataclasses.replace(option, name=name, flag=option.flag or f"--{name.replace('_', '-')}")
        for name, option in declared
    )


def backends_help() -> str:
    from .store.registry import backends_help as from_the_registry

    return from_the_registry()


def fault_kinds_help() -> str:
    from .faults import fault_kinds_help as from_the_registry

    return from_the_registry()


# ---- the table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What the server is started with; `create_app` reads it."""

    host: str = setting(
        "127.0.0.1", TEXT, "address to bind; any non-loopback address needs --admin-token", metavar="HOST"
    )
    port: int = setting(
        4010, INTEGER, "port to listen on; 0 takes a free one, and the start line says which", metavar="PORT"
    )
    seed: int | None = setting(
        None,
        OPTIONAL_INTEGER,
        "make ids, request ids and created_at reproducible",
        metavar="N",
        marker=True,
        ini=True,
    )
    api_keys: tuple[str, ...] = setting(
        (),
        API_KEYS,
        "accept only this key; repeatable, or k1,k2 in the environment",
        shown_default="any non-empty key",
        flag="--api-key",
        metavar="KEY",
        repeatable=True,
        aliases=("api_key",),
        marker=True,
    )
    log_level: str = setting("info", LOG_LEVEL, "log level; info prints one access-log line per request")
    max_body_size: int = setting(
        DEFAULT_MAX_BODY_SIZE, INTEGER, "largest request body in bytes, else 413", metavar="BYTES", marker=True
    )
    body_timeout: float = setting(
        30.0,
        NUMBER,
        "seconds a client may take to send its whole body, else 408",
        shown_default="30",
        metavar="SECONDS",
        marker=True,
    )
    store: str = setting(
        "memory",
        TEXT,
        f"where the state lives: {backends_help()}",
        metavar="URL",
        marker=True,
    )
    max_memory: int | None = setting(
        DEFAULT_MAX_MEMORY,
        SIZE,
        "bytes of client data the process keeps (1GiB, 256MB, ...): three quarters for the store (past it "
        "the least recently used threads go), an eighth for the journal (oldest entries go), an eighth for "
        "bodies being read (past it 503); off: no budget (health still counts the bytes)",
        shown_default="1GiB",
        metavar="SIZE",
        marker=True,
    )
    max_threads: int = setting(
        DEFAULT_MAX_THREADS,
        INTEGER,
        "most threads the store keeps, all keys together, conversations and stored responses counted as threads; "
        "past it the least recently used one and its messages (items) are dropped, counted on /__mock__/health",
        metavar="N",
        marker=True,
    )
    max_disk: int | None = setting(
        DEFAULT_MAX_DISK,
        SIZE,
        "bytes the sqlite store's file may take on disk (8GiB, ...; its write-ahead log adds up to 64 MiB); "
        "past it the least recently used threads, then files, go; off: no bound",
        shown_default="8GiB",
        metavar="SIZE",
        marker=True,
    )
    max_thread_messages: int = setting(
        DEFAULT_MAX_THREAD_MESSAGES,
        COUNT,
        "most messages one thread (items one conversation) holds; a new one past it gets 400 "
        "thread_message_limit_exceeded (conversation_item_limit_exceeded)",
        metavar="N",
        marker=True,
    )
    max_file_bytes: int = setting(
        DEFAULT_MAX_FILE_BYTES,
        INTEGER,
        "most bytes of uploaded files the store keeps, all keys together, and so the largest upload (a larger "
        "one gets 413 before it is read); past it the least recently used file is dropped, counted on "
        "/__mock__/health",
        metavar="BYTES",
        marker=True,
    )
    workers: int = setting(
        1,
        INTEGER,
        "serve with N processes; needs --store sqlite:PATH or redis://HOST:PORT/DB so they share one state; "
        "fault counters, rate limits and the request journal stay per process, except on Redis (shared)",
        metavar="N",
    )
    # The server stack (issue 19): the compiled parser and loop where their wheels are installed (the default
    # install has them on Linux and macOS), uvicorn's pure-Python ones elsewhere or when asked.
    http: str = setting(
        "auto",
        HTTP,
        "HTTP/1.1 parser: auto (httptools when installed, else h11), httptools, or h11 (pure Python)",
        marker=True,
    )
    loop: str = setting(
        "auto",
        LOOP,
        "event loop: auto (uvloop when installed, else asyncio), uvloop, or asyncio (the standard library's)",
        marker=True,
    )
    mode: str = setting(
        "strict",
        MODE,
        "strict: the real API's semantics; lenient: as Prism and Steady answer (unknown ids created on first use, "
        "conflicts of the real service's timing let through, rules its reference states in prose unchecked)",
        marker=True,
        ini=True,
    )
    # Fault rules in the command-line form (str) or as data (a [[faults]] table); read by create_app.
    faults: tuple[str | Mapping[str, Any], ...] = setting(
        (),
        FAULT_RULES,
        "a fault rule, repeatable: '[METHOD] PATH: fault; how often', e.g. "
        "'POST /v1/threads: status=429; retry_after=1; probability=0.2' or '*: latency=100ms..300ms'. "
        f"Faults: {fault_kinds_help()}; how often: probability, times, every, after "
        "(in the environment one rule per line; [[faults]] tables in the config)",
        flag="--fault",
        metavar="RULE",
        repeatable=True,
        aliases=("fault",),
        marker=True,
    )
    rate_limit: str | None = setting(
        None,
        RATE_LIMIT,
        "requests allowed per API key, e.g. 60/min (also /s, /h, /d): a token bucket; over it the real 429",
        metavar="N/UNIT",
        marker=True,
        ini=True,
    )
    journal_size: int = setting(
        10_000,
        INTEGER,
        "how many requests GET /__mock__/requests keeps, newest last; 0 turns the journal off",
        metavar="N",
        marker=True,
    )
    admin_token: str | None = setting(
        None,
        OPTIONAL_TEXT,
        "serve the admin API (/__mock__/...) to any client that sends 'Authorization: Bearer TOKEN'; "
        "without it the admin API answers loopback clients only",
        metavar="TOKEN",
    )
    tls: bool = setting(
        False,
        FLAG,
        "serve HTTPS with a certificate for 127.0.0.1, localhost and ::1 signed by a CA made at start-up; the "
        "start line names the CA's file, also served at GET /__mock__/ca.pem (Azure's SDKs send tokens over "
        "HTTPS only)",
        marker=True,
        ini=True,
    )
    tls_cert: Path | None = setting(  # noqa: RUF009 (setting returns a dataclasses.field)
        None,
        OPTIONAL_PATH,
        "serve HTTPS with this certificate (PEM; its chain may follow, and its key too when --tls-key is not given)",
        metavar="FILE",
        marker=True,
    )
    tls_key: Path | None = setting(  # noqa: RUF009 (setting returns a dataclasses.field)
        None, OPTIONAL_PATH, "the private key of --tls-cert (PEM)", metavar="FILE", marker=True
    )
    tls_ca_file: Path | None = setting(  # noqa: RUF009 (setting returns a dataclasses.field)
        None,
        OPTIONAL_PATH,
        "with --tls: where to write the CA made at start-up (default: ca.pem in a new temporary directory, "
        "removed at exit); with --tls-cert: the CA that signed it; either way served at GET /__mock__/ca.pem",
        metavar="FILE",
        marker=True,
    )
    contract: Path | None = setting(  # noqa: RUF009 (setting returns a dataclasses.field)
        None,
        OPTIONAL_PATH,
        "serve another copy of the contract",
        shown_default="the packaged one",
        metavar="PATH",
        marker=True,
    )
    # The `openai-poll-after-ms` of run answers a poller should not stop at: the SDK sleeps that long.
    poll_after_ms: int = setting(
        25,
        INTEGER,
        "the openai-poll-after-ms header on runs still in progress, the SDK's polling interval",
        metavar="MS",
        marker=True,
    )
    pace: str = setting(
        "instant",
        PACE,
        "how a run's answer arrives: 'instant' (every delta at once), 'realistic' (first delta after 0.7 s, "
        "then 40 a second) or 'first_delta_ms=N,deltas_per_second=N'; a reply rule's pace and the "
        "X-Mock-Pace header come first",
        metavar="PACE",
        marker=True,
    )
    config: Path | None = setting(  # noqa: RUF009 (setting returns a dataclasses.field)
        None, OPTIONAL_PATH, "TOML file with any of these options", metavar="FILE", file=False
    )
    # Reply rules of runs, as data: the [[replies]] tables of the config.
    replies: tuple[Mapping[str, Any], ...] = setting(
        (), REPLY_RULES, "reply rules of runs ([[replies]] tables)", cli=False, env=False, marker=True
    )

    @classmethod
    def load(cls, options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Merge the three sources; `options` holds only what was given on the command line."""
        given = read({k: v for k, v in (options or {}).items() if v is not None and v != [] and v != ()})
        from_env = read(environment(os.environ if environ is None else environ), Source.ENVIRONMENT)
        config_path = given.get("config") or from_env.get("config")
        from_file = config_values(Path(config_path)) if config_path else {}
        return cls(**{**from_file, **from_env, **given})


@dataclass(frozen=True)
class FixtureSettings:
    """What the `threads_mock` fixture does itself, beside the server it starts."""

    api_key: str = fixture_setting(
        "sk-mock", TEXT, "the key the fixture's clients send; the server accepts any key unless api_keys is set"
    )
    assert_all_faults_applied: bool = fixture_setting(
        False,
        FLAG,
        "fail a test in which a fault rule it added (threads_mock.fault(...), the marker's faults=) never fired",
    )
    journal_on_failure: bool = fixture_setting(
        False, FLAG, "append the mock's journal for a failed test to its report", marker=False
    )


SERVER_OPTIONS = options_of(Settings)
FIXTURE_OPTIONS = options_of(FixtureSettings)
OPTIONS = SERVER_OPTIONS + FIXTURE_OPTIONS


# ---- reading the sources --------------------------------------------------------------------------------


def spellings(source: Source) -> dict[str, Option]:
    """Each name `source` may use, and the setting it gives."""
    if source is Source.COMMAND_LINE:
        return {option.name: option for option in SERVER_OPTIONS}
    if source is Source.ENVIRONMENT:
        return {name: option for option in OPTIONS for name in option.env_names}
    if source is Source.FILE:
        return {key: option for option in OPTIONS for key in option.file_keys}
    if source is Source.MARKER:
        return {option.name: option for option in OPTIONS if option.marker}
    return {option.name: option for option in OPTIONS if option.ini}


def origin(source: Source, key: str, place: str | None) -> str:
    if source is Source.ENVIRONMENT:
        return f"environment variable {key}"
    if source is Source.FILE:
        return f"key {key!r} in {place}"
    if source is Source.MARKER:
        return f"threads_mock marker argument {key!r}"
    if source is Source.PYTEST:
        return f"pytest option {key}"
    return f"setting {key!r}"


def refusal(key: str, source: Source, place: str | None, valid: Iterable[str]) -> SettingsError:
    names = sorted(valid)
    where = origin(source, key, place)
    plain = key.removeprefix(ENV_PREFIX).lower() if source is Source.ENVIRONMENT else key.replace("-", "_")
    elsewhere = next((option for option in OPTIONS if option.name == plain), None)
    if elsewhere is not None:
        return SettingsError(f"{where}: {plain} cannot be set from {source.value}; it takes {', '.join(names)}")
    nearest = difflib.get_close_matches(key, names, n=1)
    if nearest:
        shown = nearest[0] if source is Source.ENVIRONMENT else repr(nearest[0])
        return SettingsError(f"unknown {where}; did you mean {shown}?")
    return SettingsError(f"unknown {where}; valid: {', '.join(names)}")


def read(values: Mapping[str, Any], source: Source = Source.COMMAND_LINE, place: str | None = None) -> dict[str, Any]:
    """The settings `values` give, by setting name, each read by its type. `place` names the file."""
    spelled = spellings(source)
    found: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, value in values.items():
        option = spelled.get(key)
        if option is None:
            raise refusal(key, source, place, spelled)
        if source is Source.ENVIRONMENT and value == "":
            continue  # THREADS_MOCK_SEED= unsets, as a shell or compose file writes it
        if option.name in given_as:
            raise SettingsError(
                f"{option.name} is given twice in {place or source.value}: as {given_as[option.name]} and as {key}"
            )
        given_as[option.name] = key
        found[option.name] = option.read(value, origin(source, key, place))
    return found


def environment(environ: Mapping[str, str]) -> dict[str, str]:
    # Only this prefix: the worker processes' _THREADS_MOCK_WORKER_OPTIONS (cli.py) stays outside it.
    return {key: value for key, value in environ.items() if key.startswith(ENV_PREFIX)}


def config_values(config: Path) -> dict[str, Any]:
    """The settings of a TOML file: keys at the top or in a [server] table, [[faults]] and [[replies]] tables."""
    try:
        with config.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise SettingsError(f"cannot read the config file {config}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"the config file {config} is not valid TOML: {error}") from None
    section = data.pop("server", {})
    if not isinstance(section, dict):
        raise SettingsError(f"'server' in {config} must be a table of settings, got {section!r}")
    twice = sorted(set(section) & set(data))
    if twice:
        raise SettingsError(f"{twice[0]!r} is given twice in {config}: at the top and in [server]")
    spelled = spellings(Source.FILE)
    unknown = next((key for key in data if key not in spelled), None)
    if unknown is not None:
        raise refusal(unknown, Source.FILE, str(config), [*spelled, "server"])
    return read({**data, **section}, Source.FILE, str(config))


def marker_values(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of one @pytest.mark.threads_mock(...)."""
    if args:
        raise SettingsError(f"the threads_mock marker takes keyword arguments only, got {args!r}")
    return read(kwargs, Source.MARKER)
