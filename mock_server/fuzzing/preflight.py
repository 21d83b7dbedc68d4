"""One request before the run, to tell "nothing can be tested here" (and why) from "the server fails checks".

The request is `POST <url>/threads` with the body `[]`: a Threads server refuses it with a 400 and keeps no
state, so asking costs the target nothing. No answer means the URL is unreachable; 401 or 403 means the
credentials were refused; 404 or 405 means no Threads API lives under that URL. Anything else, a 5xx
included, is the run's business: the checks will say what is wrong.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping

BETA_HEADER = ("OpenAI-Beta", "assistants=v2")


def problem(base_url: str, headers: Mapping[str, str], timeout: float, *, has_key: bool) -> str | None:
    """Why nothing can be tested at `base_url`, in a sentence, or None when the run may start."""
    url = f"{base_url}/threads"
    sent = {BETA_HEADER[0]: BETA_HEADER[1], "Content-Type": "application/json", **headers}
    request = urllib.request.Request(url, data=b"[]", headers=sent, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except TimeoutError:
        return f"cannot reach {base_url}: no answer within {timeout:g} s"
    except urllib.error.URLError as error:
        return f"cannot reach {base_url}: {reason(error.reason)}"
    except (OSError, ValueError) as error:
        return f"cannot reach {base_url}: {reason(error)}"
    said = error_message(body)
    if status in (401, 403):
        if not has_key:
            return (
                f"the server refused the request without credentials ({status}{said}): "
                "pass --api-key KEY or set OPENAI_API_KEY"
            )
        return f"the server refused the credentials ({status}{said}): check --api-key and --header"
    if status in (404, 405):
        return (
            f"no Threads API at {base_url}: POST {url} answered {status}{said}; "
            "the URL should be what an SDK takes as base_url, usually ending in /v1"
        )
    return None


def reason(error: object) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (is the server running, and on that port?)"
    if isinstance(error, socket.gaierror):
        return f"unknown host ({error.strerror})"
    if isinstance(error, TimeoutError | socket.timeout):
        return "no answer in time"
    return str(error) or type(error).__name__


def error_message(body: bytes) -> str:
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f": {message}" if isinstance(message, str) and message else ""
