# The two commands a newcomer needs: `make run` and `make test`. Both create the virtualenvs.
PYTHON ?= python3
VENV ?= .venv
SDK1_VENV ?= .venv-openai1
# The last 1.x release line of the SDK uses httpx; 3.x (in $(VENV)) uses httpx2.
SDK1_SPEC ?= openai>=1.83,<2
HOST ?= 127.0.0.1
PORT ?= 4010

# Bytecode kept: the suite starts a hundred Python processes (servers, the fuzz command, pytester runs), and
# each would compile the package from source again where the environment forbids writing .pyc files.
unexport PYTHONDONTWRITEBYTECODE

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SDK1_STAMP := $(SDK1_VENV)/.installed

.PHONY: run test test-main test-sdk1 lint bench fuzz clean

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

run: $(STAMP)
	$(BIN)/threads-mock serve --host $(HOST) --port $(PORT)

test: test-main test-sdk1

test-main: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist worksteal

# The SDK tests again, against the 1.x SDK in its own virtualenv.
test-sdk1: $(SDK1_STAMP)
	$(SDK1_VENV)/bin/python -m pytest -m sdk -n 2 --dist worksteal -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check mock_server tests bench
	$(BIN)/ruff format --check mock_server tests bench
	$(BIN)/mypy

# The mock against a bare Starlette handler under wrk (installed with apt-get when missing and root);
# writes BENCHMARKS.md. Options: make bench BENCH_ARGS="--rounds 3 --duration 5" (see --help).
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
	rm -rf $(VENV) $(SDK1_VENV) build dist *.egg-info
