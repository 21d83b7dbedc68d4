"""A step of the test workflows (tests/test_action.py): what a job's tests see after the Action started the mock.

Run as a script by the workflow's step, with the Action's outputs in its environment (BASE_URL, PORT, PID, LOG,
STATE_DIR) beside what the Action exported (OPENAI_BASE_URL, TEST_API_BASE_URL, OPENAI_API_KEY). It asks the mock
through the official SDK, built from the environment alone as a user's test suite builds it, and writes what it
saw as JSON to FACTS; the test asserts on that.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

import openai

EXPORTED = ("OPENAI_BASE_URL", "TEST_API_BASE_URL", "OPENAI_API_KEY")
OUTPUTS = ("BASE_URL", "PORT", "PID", "LOG", "STATE_DIR")


def status_of(client: openai.OpenAI, thread_id: str) -> int:
    try:
        client.beta.threads.retrieve(thread_id)
    except openai.APIStatusError as error:
        return error.status_code
    return 200


def main() -> int:
    facts: dict[str, Any] = {name: os.environ.get(name) for name in (*EXPORTED, *OUTPUTS)}
    client = openai.OpenAI(max_retries=0)  # base URL and key from the environment, as a user's suite has them
    facts["thread"] = client.beta.threads.create().id  # first: the seed's first id
    facts["statuses"] = {
        thread_id: status_of(client, thread_id) for thread_id in ("thread_placeholder", "thread_fault", "thread_quoted")
    }
    try:
        openai.OpenAI(api_key="sk-not-accepted", max_retries=0).beta.threads.create()
        facts["other_key"] = 200
    except openai.APIStatusError as error:
        facts["other_key"] = error.status_code
    health_url = client.base_url.copy_with(path="/__mock__/health")
    with urllib.request.urlopen(str(health_url), timeout=10) as answer:
        facts["health"] = json.load(answer)
    pid = os.environ.get("PID", "")
    command = Path(f"/proc/{pid}/cmdline")
    facts["command"] = command.read_bytes().split(b"\0")[0].decode() if pid.isdigit() and command.exists() else None
    Path(os.environ["FACTS"]).write_text(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
