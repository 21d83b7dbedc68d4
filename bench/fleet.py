"""The fleet's cost and what it scales to: create-thread requests/s of one instance on the memory store, of one
on Redis (`--store redis://...`), and of two instances on one Redis, each driven by its own load generator at
the same time (their sum). Unpinned: the servers, redis-server and the load generators share the machine's cores,
as a fleet on one machine would. redis-server is Debian's package (installed with apt-get when missing, as root).

    python -m bench.fleet --duration 5
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .load import Load, LoadGenerator, load_generator
from .scenarios import THREAD_BODY, write_requests
from .servers import BenchError, Request, Server, free_port, mock_command


@dataclass
class FleetBench:
    memory: float  # req/s, one instance, memory store
    redis: float  # one instance on Redis
    pair: float  # two instances on one Redis, together


def redis_server(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        installed = subprocess.run(
            ["apt-get", "-qq", "-y", "install", "--no-install-recommends", "redis-server"], capture_output=True
        )
        binary = shutil.which("redis-server")
        if installed.returncode != 0 or binary is None:
            raise BenchError("redis-server is missing and could not be installed (apt-get as root)")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    if process.poll() is not None:
        raise BenchError("redis-server did not start")
    return process, f"redis://127.0.0.1:{port}/0?namespace=bench"


def driven(generator: LoadGenerator, servers: list[Server], requests: Path, duration: float) -> float:
    """Requests/s of all `servers` together, each under its own load generator at the same time, after a warm-up
    run of the same length."""
    loads: list[Load] = []
    errors: list[BaseException] = []

    def drive(server: Server) -> None:
        try:
            loads.append(generator.run(server.url, requests, duration))
        except BaseException as error:
            errors.append(error)

    def together() -> None:
        threads = [threading.Thread(target=drive, args=(server,)) for server in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    # A first run, not counted: each instance's pool of Redis connections grows to the load's concurrency.
    together()
    loads.clear()
    together()
    for server in servers:
        server.check_alive()
    return sum(load.rps for load in loads)


def measure(generator: LoadGenerator, duration: float, work: Path) -> FleetBench:
    requests = write_requests(work, "fleet-create", [Request("POST", "/v1/threads", THREAD_BODY)])
    redis, url = redis_server(work)
    started: list[Server] = []
    try:

        def start(name: str, *store: str) -> Server:
            server = Server(name, [*mock_command(), *store], [], work).wait_ready()
            started.append(server)
            return server

        memory = driven(generator, [start("fleet-memory")], requests, duration)
        started.pop().stop()
        one = start("fleet-redis-1", "--store", url)
        redis_alone = driven(generator, [one], requests, duration)
        pair = driven(generator, [one, start("fleet-redis-2", "--store", url)], requests, duration)
        return FleetBench(memory, redis_alone, pair)
    finally:
        for server in started:
            server.stop()
        redis.terminate()
        redis.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measure (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="connections per load generator")
    args = parser.parse_args(argv)
    options = argparse.Namespace(
        load_generator="auto", connections=args.connections, threads=1, no_install=False, quick=False
    )
    generator, _ = load_generator(options, [])
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as work:
        found = measure(generator, args.duration, Path(work))
    print(f"one instance, memory store   {found.memory:8,.0f} req/s")
    print(f"one instance, Redis          {found.redis:8,.0f} req/s")
    print(f"two instances, one Redis     {found.pair:8,.0f} req/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
