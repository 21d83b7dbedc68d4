"""What uploads cost the server's memory: N files of M bytes each, sent to a fresh `threads-mock serve` (memory
store, journal on, as users run it), and its resident set size before and after. The store holds one copy of
each file; a growth near N*M says no second copy (a spooled form, a joined body, the journal) stays behind.

    python -m bench.uploads --files 40 --bytes 4000000

Prints one line per measure and exits 1 when the growth passes `--most` times N*M. Not a timed test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
from pathlib import Path

from .servers import AUTH, BenchError, Server, mock_command

BOUNDARY = "bench-upload-boundary"


def multipart(content: bytes, filename: str) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def request(server: Server, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        headers = {"Authorization": AUTH["Authorization"]}
        if body is not None:
            headers["Content-Type"] = f"multipart/form-data; boundary={BOUNDARY}"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def upload(server: Server, content: bytes, filename: str) -> str:
    status, answer = request(server, "POST", "/v1/files", multipart(content, filename))
    if status != 200:
        raise BenchError(f"the upload of {filename} answered {status}: {answer[:300]!r}")
    file_id: str = json.loads(answer)["id"]
    return file_id


def measure(files: int, size: int, log_dir: Path) -> tuple[int, int]:
    """The server's RSS before and after the uploads (after one small upload that loads what uploads use)."""
    command = [*mock_command(), "--max-file-bytes", str(2 * files * size + 1024)]
    server = Server("uploads", command, [], log_dir).wait_ready()
    try:
        upload(server, b"warm-up", "warm.txt")
        before = server.rss_bytes()
        last = b""
        ids = []
        for n in range(files):
            last = os.urandom(size)  # distinct bytes: nothing to share between files
            ids.append(upload(server, last, f"file-{n}.bin"))
        after = server.rss_bytes()
        status, downloaded = request(server, "GET", f"/v1/files/{ids[-1]}/content")
        if status != 200 or downloaded != last:
            raise BenchError("the last file did not come back as uploaded")
        return before, after
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.uploads", description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40, help="how many files (default 40)")
    parser.add_argument("--bytes", type=int, default=4_000_000, help="bytes per file (default 4,000,000)")
    parser.add_argument("--most", type=float, default=1.3, help="the growth allowed, times N*M (default 1.3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as log_dir:
        before, after = measure(args.files, args.bytes, Path(log_dir))
    stored = args.files * args.bytes
    growth = after - before
    print(f"uploaded      {args.files} files of {args.bytes:,} bytes = {stored / 2**20:,.1f} MiB")
    print(f"server RSS    {before / 2**20:,.1f} MiB before, {after / 2**20:,.1f} MiB after")
    print(f"growth        {growth / 2**20:,.1f} MiB = {growth / stored:.2f} x N*M")
    return 0 if growth <= args.most * stored else 1


if __name__ == "__main__":
    sys.exit(main())
