"""The anchors (issue 19): Prism and Steady, the two OpenAPI mock servers the mock is measured against, from npm.

Both serve OpenAI's own spec excerpt of the Threads API (bench/anchors/openai-openapi-threads.yaml), on the same
core as the mock, in the same rounds. They mock from the spec alone: Prism 5 answers the spec's example or, with
none, an object it builds from the schema (static mode, its default: the same answer every time); Steady answers
objects it generates from the schema. Neither keeps state, so any id in a path will do. Both serve the spec's
paths without the `/v1` of its server URL, and Prism refuses a request without the spec's bearer token (401).

`node` and `npm` come from apt-get when missing (as root on a Debian-like system, as wrk does); the packages are
installed at pinned versions into .cache/bench-anchors (gitignored). An anchor that cannot be installed is left
out of the run, and the report says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .servers import ROOT, Request

CACHE = ROOT / ".cache" / "bench-anchors"
SPEC = Path(__file__).resolve().parent / "anchors" / "openai-openapi-threads.yaml"
# The spec's server URL is https://api.openai.com/v1; the anchors serve its paths from the root.
PREFIX = "/v1"


@dataclass(frozen=True)
class Anchor:
    name: str
    package: str
    version: str
    how: str  # how it mocks, for the report

    @property
    def installed_version(self) -> str | None:
        manifest = CACHE / "node_modules" / self.package / "package.json"
        try:
            version: str = json.loads(manifest.read_text())["version"]
        except (OSError, ValueError, KeyError):
            return None
        return version

    def command(self) -> list[str]:
        """The server's command line; the bench adds `--port N`."""
        bin_dir = CACHE / "node_modules" / ".bin"
        if self.name == "Prism":
            # -v warn: no log line per request (the mock's access log is off too).
            return [str(bin_dir / "prism"), "mock", "-h", "127.0.0.1", "-v", "warn", str(SPEC)]
        # The npm package's steady.js only starts the native binary of the platform package: run that directly,
        # so that the process measured (CPU time, pinning) is the server itself.
        native = sorted((CACHE / "node_modules" / "@stdy").glob("cli-*/bin/steady*"))
        binary = str(native[0]) if native else str(bin_dir / "steady")
        return [binary, "-q", "--host", "127.0.0.1", str(SPEC)]

    def request(self, request: Request) -> Request:
        return Request(request.method, request.path.removeprefix(PREFIX), request.body)


ANCHORS = (
    Anchor(
        "Steady",
        "@stdy/cli",
        "0.22.2",
        "generates each answer from the response schema (random values, pretty-printed JSON); native binary",
    ),
    Anchor(
        "Prism",
        "@stoplight/prism-cli",
        "5.16.0",
        "static mode (its default): the spec's example, else an object built from the schema; Node.js",
    ),
)


def probe(anchor: Anchor) -> Request:
    """A request every anchor answers 200 once it is up (Prism wants the bearer token the bench sends)."""
    return anchor.request(Request("GET", "/v1/threads/thread_abcdefghijklmnopqrstuvwx"))


def find_npm(install: bool) -> tuple[str | None, str]:
    """npm (with node beside it), and how it was found or why not."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm and node:
        return npm, "node and npm found on PATH"
    how = "install Node.js 20 or newer with npm (`apt-get install nodejs npm` on Debian/Ubuntu)"
    if not install:
        return None, f"node/npm are not installed: {how}"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, f"node/npm are not installed and this is not root on a Debian-like system: {how}"
    print("node/npm are not installed: running `apt-get install -y nodejs npm`", file=sys.stderr)
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "nodejs", "npm"]):
        if subprocess.run(command, check=False, stdout=subprocess.DEVNULL).returncode != 0:
            return None, f"`{' '.join(command)}` failed: {how}"
    npm = shutil.which("npm")
    return npm, "installed with `apt-get install nodejs npm`" if npm else f"apt-get did not provide npm: {how}"


def prepare(install: bool) -> tuple[list[Anchor], dict[str, str]]:
    """The anchors ready to run, and for each anchor a note: its version, or why it is not in the run."""
    missing = [a for a in ANCHORS if a.installed_version != a.version]
    notes: dict[str, str] = {}
    if missing and install:
        npm, how = find_npm(install)
        if npm is None:
            notes = {a.name: how for a in missing}
        else:
            CACHE.mkdir(parents=True, exist_ok=True)
            specs = [f"{a.package}@{a.version}" for a in missing]
            print(f"installing {' '.join(specs)} into {CACHE} with npm", file=sys.stderr, flush=True)
            finished = subprocess.run(
                [npm, "install", "--prefix", str(CACHE), "--save-exact", "--no-audit", "--no-fund", *specs],
                capture_output=True,
                text=True,
                check=False,
            )
            if finished.returncode != 0:
                tail = " ".join(finished.stderr.strip().splitlines()[-3:])
                notes = {a.name: f"`npm install {a.package}@{a.version}` failed: {tail}" for a in missing}
    ready = []
    for anchor in ANCHORS:
        if anchor.name in notes:
            continue
        found = anchor.installed_version
        if found == anchor.version:
            ready.append(anchor)
            notes[anchor.name] = f"{anchor.package} {found}"
        elif not install:
            notes[anchor.name] = (
                f"{anchor.package}@{anchor.version} is not in {CACHE.relative_to(ROOT)} and installs are off "
                "(--no-install or --quick)"
            )
        else:
            notes[anchor.name] = f"{anchor.package}@{anchor.version} did not install (found {found})"
    return ready, notes
