"""Load generators (wrk driven by bench/wrk/*.lua, or the built-in one) and what one run measured."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import loadgen
from .servers import ROOT, BenchError

WRK_DIR = Path(__file__).resolve().parent / "wrk"


@dataclass
class LoadGenerator:
    kind: str  # "wrk" or "python"
    version: str
    connections: int
    threads: int
    wrk: str = ""
    pin: list[str] = field(default_factory=list)

    def run(self, url: str, requests_file: Path, duration: float, limit: int | None = None) -> Load:
        if self.kind == "wrk":
            return self.run_wrk(url, requests_file, duration, limit)
        # The built-in generator runs in this process, which is pinned to the load generator's core.
        before = resource.getrusage(resource.RUSAGE_SELF)
        summary = asyncio.run(loadgen.drive(url, requests_file, self.connections, duration, limit))
        return Load(summary, cpu_delta(before, resource.getrusage(resource.RUSAGE_SELF)))

    def run_wrk(self, url: str, requests_file: Path, duration: float, limit: int | None) -> Load:
        script = WRK_DIR / ("fill.lua" if limit else "requests.lua")
        args = [*self.pin, self.wrk, f"-t{self.threads}", f"-c{self.connections}", f"-d{max(1, round(duration))}s"]
        args += ["--timeout", "10s", "-s", str(script), url, "--", str(requests_file)]
        if limit:
            args.append(str(-(-limit // self.threads)))
        # wrk is the only child that ends during the run, so the children's CPU time is wrk's.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert process.stdout is not None
        if limit:
            # fill.lua says when each wrk thread has its count; wrk itself would sleep out -d.
            stopped = 0
            for line in process.stdout:
                stopped += line.strip() == "FILL_DONE"
                if stopped == self.threads:
                    process.send_signal(signal.SIGINT)
                    break
        stdout, stderr = process.communicate()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        found = re.search(r"^BENCH_JSON (.*)$", stdout, re.MULTILINE)
        if process.returncode != 0 or not found:
            raise BenchError(f"wrk failed ({process.returncode}):\n{stdout}\n{stderr}")
        return Load(json.loads(found.group(1)), cpu_delta(before, after))


def cpu_delta(before: resource.struct_rusage, after: resource.struct_rusage) -> float:
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@dataclass
class Load:
    summary: dict[str, float]
    loadgen_cpu: float
    server_cpu: float = 0.0

    @property
    def seconds(self) -> float:
        return self.summary["duration_us"] / 1e6

    @property
    def rps(self) -> float:
        return self.summary["requests"] / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return self.summary["p50_us"] / 1000

    @property
    def p99_ms(self) -> float:
        return self.summary["p99_us"] / 1000

    @property
    def errors(self) -> int:
        keys = ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
        return int(sum(self.summary[k] for k in keys))

    @property
    def bytes_per_answer(self) -> float:
        """Bytes read per response, head included (the anchors' answers are not the mock's size)."""
        return self.summary["bytes"] / self.summary["requests"] if self.summary["requests"] else 0.0

    @property
    def loadgen_share(self) -> float:
        return self.loadgen_cpu / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_second(self) -> float:
        return self.summary["requests"] / self.server_cpu if self.server_cpu else 0.0

    @property
    def server_share(self) -> float:
        return self.server_cpu / self.seconds if self.seconds else 0.0


def find_wrk(install: bool) -> tuple[str | None, str]:
    """The wrk binary, and how it was found (or why not)."""
    found = shutil.which("wrk")
    if found:
        return found, f"found on PATH ({found})"
    how = "install it with `sudo apt-get install wrk` (Debian/Ubuntu) or `brew install wrk` (macOS)"
    if not install:
        return None, f"wrk is not installed: {how}"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, f"wrk is not installed and this is not root on a Debian-like system: {how}"
    print("wrk is not installed: running `apt-get update` and `apt-get install -y wrk`", file=sys.stderr)
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        if subprocess.run(command, check=False, stdout=subprocess.DEVNULL).returncode != 0:
            return None, f"`{' '.join(command)}` failed: {how}"
    found = shutil.which("wrk")
    return found, "installed with `apt-get install wrk`" if found else f"apt-get did not provide wrk: {how}"


def load_generator(options: argparse.Namespace, pin: list[str]) -> tuple[LoadGenerator, str]:
    wanted = options.load_generator
    note = ""
    if wanted in ("wrk", "auto"):
        wrk, note = find_wrk(install=not options.no_install and not options.quick)
        if wrk:
            version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout
            first = version.splitlines()[0].partition(" Copyright")[0] if version else "wrk"
            return LoadGenerator("wrk", first, options.connections, options.threads, wrk, pin), note
        if wanted == "wrk":
            raise BenchError(note)
        print(f"WARNING: {note}; falling back to the built-in Python load generator", file=sys.stderr)
    generator = LoadGenerator("python", "bench/loadgen.py (built-in, in this process)", options.connections, 1)
    return generator, note or "chosen with --load-generator python"
