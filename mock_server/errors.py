"""The OpenAI error envelope and the exact wording the real API used for each failure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

ACCOUNT_KEYS_URL = "https://platform.openai.com/account/api-keys"
RATE_LIMITS_URL = "https://platform.openai.com/account/rate-limits"
ERROR_CODES_URL = "https://platform.openai.com/docs/guides/error-codes/api-errors"

# Each status the mock can answer with, and the `type` the real API sent with it.
STATUS_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "requests",
    500: "server_error",
    502: "server_error",
    503: "server_error",
    504: "server_error",
}


def param_path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class APIError(Exception):
    """An error answered to the client in the OpenAI envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        param: str | None = None,
        code: str | int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or STATUS_TYPES.get(status, "invalid_request_error")
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def invalid_request(message: str, *, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def missing_beta_header() -> APIError:
    return invalid_request(
        "You must provide the 'OpenAI-Beta' header to access the Assistants API. "
        "Please try again by setting the header 'OpenAI-Beta: assistants=v2'.",
        code="invalid_beta",
    )


def deprecated_beta_v1() -> APIError:
    return invalid_request(
        "The v1 Assistants API has been deprecated. See the migration guide for more information: "
        "https://platform.openai.com/docs/assistants/migration.",
        code="invalid_beta",
    )


def missing_api_key() -> APIError:
    return APIError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header "
        "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank "
        "username) if you're accessing the API from your browser and are prompted for a username and "
        f"password. You can obtain an API key from {ACCOUNT_KEYS_URL}.",
    )


def mask_key(key: str) -> str:
    """Mask a key the way the real API did: its known prefix, four stars, its last four characters."""
    for prefix in ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"):
        if key.startswith(prefix) and len(key) > len(prefix) + 4:
            return f"{prefix}****{key[-4:]}"
    return f"{key[:3]}****{key[-4:]}" if len(key) > 8 else "****"


def incorrect_api_key(key: str) -> APIError:
    return APIError(
        401,
        f"Incorrect API key provided: {mask_key(key)}. You can find your API key at {ACCOUNT_KEYS_URL}.",
        code="invalid_api_key",
    )


def not_found(kind: str, object_id: str) -> APIError:
    return APIError(404, f"No {kind} found with id '{object_id}'.")


def invalid_url(method: str, path: str) -> APIError:
    return APIError(404, f"Invalid URL ({method} {path})")


def method_not_allowed(method: str, path: str, allowed: str) -> APIError:
    return APIError(
        405,
        f"Method {method} is not allowed for {path}. Allowed methods: {allowed}.",
        headers={"allow": allowed},
    )


def unparseable_json() -> APIError:
    return invalid_request(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
        "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. "
        "If you have trouble figuring out how to fix this, please contact us through our help center at "
        "help.openai.com.)"
    )


def unsupported_content_type(content_type: str, accepted: str = "application/json") -> APIError:
    return APIError(
        415,
        f"Unsupported content type: '{content_type}'. This API method only accepts '{accepted}' "
        f"requests, but you specified the header 'Content-Type: {content_type}'. Please try again with a "
        "supported content type.",
        code="unsupported_content_type",
    )


def missing_content_type(accepted: str = "application/json") -> APIError:
    return APIError(
        415,
        f"Missing Content-Type header. This API method only accepts '{accepted}' requests. Please try "
        f"again with the header 'Content-Type: {accepted}'.",
        code="unsupported_content_type",
    )


# Uploads. Not captured from the real API (see README, "Files and vector stores"); written in its style.
def invalid_multipart(reason: str) -> APIError:
    return invalid_request(f"The request body is not a valid multipart/form-data body: {reason}.")


def file_too_large(limit: int) -> APIError:
    return APIError(
        413,
        f"The file is too large. The maximum file size is {limit} bytes.",
        param="file",
        code="file_too_large",
    )


def filename_not_utf8() -> APIError:
    return invalid_request("Invalid 'file': the filename is not valid UTF-8.", param="file", code="invalid_value")


def file_not_found(file_id: str) -> APIError:
    # Captured from the live /files endpoints: no final period, `param` "id".
    return APIError(404, f"No such File object: {file_id}", param="id")


def no_such_file(file_id: str, param: str) -> APIError:
    # A request body naming a file no upload made: its own 400, not a 404, which would say the path is unknown.
    return invalid_request(f"No file found with id '{file_id}'.", param=param)


def no_such_vector_store(store_id: str, param: str) -> APIError:
    # Tool resources naming a vector store that does not exist: worded as an unknown store's 404 (not captured),
    # a 400 naming where, as for a file.
    return invalid_request(f"No vector store found with id '{store_id}'.", param=param)


def download_refused(purpose: str) -> APIError:
    return invalid_request(f"Not allowed to download files of purpose: {purpose}")


def repeated_parameter(name: str) -> APIError:
    return invalid_request(
        f"Invalid body: the parameter '{name}' is given more than once.", param=name, code="duplicate_parameter"
    )


def body_too_large(limit: int) -> APIError:
    return APIError(
        413,
        f"The request body is too large. The maximum body size is {limit} bytes.",
        code="request_too_large",
    )


def overloaded() -> APIError:
    """Bodies being read fill their share of the memory budget: this one waits its turn."""
    return APIError(
        503,
        "The server is overloaded or not ready yet.",
        type="server_error",
        headers={"retry-after": "1"},
    )


def store_unreachable() -> APIError:
    """The store's server (Redis) cannot be reached: the client may retry; the mock reconnects by itself."""
    return APIError(
        503,
        "The mock's store cannot be reached right now (its Redis is down or restarting). Retry shortly.",
        type="server_error",
        headers={"retry-after": "1"},
    )


def thread_full(thread_id: str, most: int) -> APIError:
    """A new message for a thread that holds the most messages a thread may (`--max-thread-messages`)."""
    return APIError(
        400,
        f"Thread {thread_id} already has {most} messages, the most a thread can hold. Start a new thread.",
        code="thread_message_limit_exceeded",
    )


def conversation_full(conversation_id: str, most: int) -> APIError:
    """A new item for a conversation that holds the most a thread may (`--max-thread-messages`); the real API
    states no such limit, so the wording and code are the mock's, after `thread_full`'s."""
    return APIError(
        400,
        f"Conversation {conversation_id} already has {most} items, the most a conversation can hold. "
        "Start a new conversation.",
        code="conversation_item_limit_exceeded",
    )


def cannot_fit(size: int, limit: int) -> APIError:
    """A thread (or a conversation, or a stored response: kept as threads) that would grow past what one thread
    may hold of the memory budget."""
    return APIError(
        413,
        f"The object would take {size} bytes, more than the {limit} bytes this mock keeps for one thread, "
        "conversation or response (a quarter of its store's share of --max-memory). Send less, or start the mock "
        "with a larger budget.",
        code="object_too_large",
    )


def disk_full(limit: int) -> APIError:
    """A write the store's file has no room for, once every thread and file that could go has gone."""
    return APIError(
        413,
        f"The store's file is full: it may take {limit} bytes on disk (--max-disk), and nothing more could be "
        "evicted to make room. Send less, or start the mock with a larger --max-disk.",
        code="object_too_large",
    )


def body_timeout(seconds: float) -> APIError:
    return APIError(
        408,
        f"The request body did not arrive in time: the server waited {seconds:g} seconds for the rest of it.",
        code="request_timeout",
    )


def client_gone() -> APIError:
    return invalid_request("The connection was closed before the request body was complete.")


def server_error(request_id: str) -> APIError:
    return APIError(
        500,
        "The server had an error processing your request. Sorry about that! You can retry your request, "
        "or contact us through our help center at help.openai.com if you keep seeing this error. "
        f"(Please include the request ID {request_id} in your email.)",
    )


# ---- the envelopes a fault (status=...) or the rate limiter answers with ----


def rate_limit_reached(limit: int, used: int, window: str, retry_in: str, headers: dict[str, str]) -> APIError:
    """`window` as the real API wrote it, e.g. `requests per min (RPM)`; `retry_in` a Go-style duration."""
    return APIError(
        429,
        f"Rate limit reached for requests in organization org-mock on {window}: Limit {limit}, Used {used}, "
        f"Requested 1. Please try again in {retry_in}. Visit {RATE_LIMITS_URL} to learn more.",
        type="requests",
        code="rate_limit_exceeded",
        headers=headers,
    )


def insufficient_quota() -> APIError:
    return APIError(
        429,
        "You exceeded your current quota, please check your plan and billing details. For more information "
        f"on this error, read the docs: {ERROR_CODES_URL}.",
        type="insufficient_quota",
        code="insufficient_quota",
    )


def unsupported_region() -> APIError:
    return APIError(
        403,
        "Country, region, or territory not supported",
        type="request_forbidden",
        code="unsupported_country_region_territory",
    )


def conflict() -> APIError:
    # Not captured from the real API; written in its style.
    return APIError(409, "The request conflicts with another request on the same resource. Please try again.")


def service_unavailable() -> APIError:
    return APIError(503, "The server is overloaded or not ready yet.")


def bad_gateway() -> APIError:
    # The API's edge (Cloudflare) answered 502 with a numeric code.
    return APIError(502, "Bad gateway.", type="cf_bad_gateway", code=502)


def gateway_timeout() -> APIError:
    # Captured as 524 from the API's edge; the same envelope with the status it is sent with.
    return APIError(504, "Gateway timeout.", type="cf_gateway_timeout", code=504)


def not_found_in(method: str, path: str) -> APIError:
    """The 404 the real API gave for this path: the object its last id names, else an unknown URL."""
    for segment in reversed(path.split("/")):
        if segment.startswith("file-"):
            return file_not_found(segment)
        for prefix, kind in (
            ("msg_", "message"),
            ("thread_", "thread"),
            ("run_", "run"),
            ("asst_", "assistant"),
            ("vsfb_", "vector store file batch"),
            ("vs_", "vector store"),
        ):
            if segment.startswith(prefix):
                return not_found(kind, segment)
        if segment.startswith("conv_"):
            return conversation_not_found(segment)
        if segment.startswith("resp_"):
            return response_not_found(segment)
    return invalid_url(method, path)


def for_status(
    status: int,
    *,
    request_id: str,
    method: str,
    path: str,
    api_key: str | None,
    rate_limit: tuple[int, str, str],
    code: str | None = None,
) -> APIError:
    """The real API's envelope for an HTTP error status. `rate_limit` is (limit, window, retry_in) for
    the 429 wording; `code="insufficient_quota"` turns a 429 into the quota error."""
    if status == 429:
        if code == "insufficient_quota":
            return insufficient_quota()
        limit, window, retry_in = rate_limit
        return rate_limit_reached(limit, limit, window, retry_in, {})
    by_status = {
        401: lambda: incorrect_api_key(api_key) if api_key else missing_api_key(),
        403: unsupported_region,
        404: lambda: not_found_in(method, path),
        409: conflict,
        500: lambda: server_error(request_id),
        502: bad_gateway,
        503: service_unavailable,
        504: gateway_timeout,
    }
    make = by_status.get(status)
    if make is not None:
        return make()
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return APIError(status, f"{phrase}.")


# ---- the mock's own errors (its header and admin API), with types of its own ----

MOCK_FAULT_ERROR = "mock_fault_error"
MOCK_PACE_ERROR = "mock_pace_error"


def invalid_fault_header(reason: str, examples: Sequence[str]) -> APIError:
    """`examples`: faults of every kind, as the fault registry writes them."""
    quoted = [f"'{example}'" for example in examples]
    listed = f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)
    return APIError(
        400,
        f"Invalid 'X-Mock-Fault' header: {reason}. It takes faults like {listed}.",
        type=MOCK_FAULT_ERROR,
        param="X-Mock-Fault",
        code="invalid_fault",
    )


def invalid_pace_header(reason: str, example: str) -> APIError:
    return APIError(
        400,
        f"Invalid 'X-Mock-Pace' header: {reason}. It takes 'realistic', 'instant' or '{example}'.",
        type=MOCK_PACE_ERROR,
        param="X-Mock-Pace",
        code="invalid_pace",
    )


def invalid_fault_rule(reason: str) -> APIError:
    return APIError(400, f"Invalid fault rule: {reason}.", type=MOCK_FAULT_ERROR, code="invalid_fault")


def unknown_fault_rule(rule_id: str) -> APIError:
    return APIError(404, f"No fault rule found with id '{rule_id}'.", type=MOCK_FAULT_ERROR)


# The refusals of the runs API, worded as the real API answered them.
def active_run_blocks_message(thread_id: str, run_id: str) -> APIError:
    return invalid_request(f"Can't add messages to {thread_id} while a run {run_id} is active.")


def active_run_blocks_run(thread_id: str, run_id: str) -> APIError:
    return invalid_request(f"Thread {thread_id} already has an active run {run_id}.")


def run_refuses_tool_outputs(status: str) -> APIError:
    return invalid_request(f'Runs in status "{status}" do not accept tool outputs.')


def missing_tool_outputs(expected: list[str], got: list[str]) -> APIError:
    return invalid_request(f"Expected tool outputs for call_ids {expected!r}, got {got!r}")


def cannot_cancel(status: str) -> APIError:
    return invalid_request(f"Cannot cancel run with status '{status}'.")


# The Conversations and Responses APIs word their refusals their own way (see the facts sheet).


def conversation_not_found(conversation_id: str) -> APIError:
    return APIError(404, f"Conversation with id '{conversation_id}' not found.")


def response_not_found(response_id: str) -> APIError:
    return APIError(404, f"Response with id '{response_id}' not found.")


def item_not_found(item_id: str) -> APIError:
    # Not captured for a conversation's item: the wording of the store-false replay refusal's first sentence.
    return APIError(404, f"Item with id '{item_id}' not found.")


def prompt_not_found(prompt_id: str) -> APIError:
    return APIError(404, f"Prompt with id '{prompt_id}' not found.")


def previous_response_not_found(response_id: str) -> APIError:
    return invalid_request(
        f"Previous response with id '{response_id}' not found.",
        param="previous_response_id",
        code="previous_response_not_found",
    )


def conversation_with_previous_response() -> APIError:
    # Word for word, truncated as the live API truncates it (two independent captures agree).
    return invalid_request(
        "Mutually exclusive parameters: ''. Ensure you are only providing one of: 'pre..._id' or 'conversation'.",
        code="mutually_exclusive_parameters",
    )


def no_tool_call_for_output(call_id: str) -> APIError:
    return invalid_request(f"No tool call found for function call output with call_id {call_id}.", param="input")


def no_tool_output_for_call(call_id: str) -> APIError:
    return invalid_request(f"No tool output found for function call {call_id}.", param="input")


def cannot_cancel_response(status: str | None) -> APIError:
    """`None`: a response that was not made in the background (the wording servers that copy the API use)."""
    if status is None:
        return invalid_request("Cannot cancel a synchronous response.")
    return invalid_request(f"Cannot cancel a {status} response.")


def response_not_streamable() -> APIError:
    # Word for word as the live API answered a GET with stream=true on a response not made in the background
    # (openai/openai-ruby#214, 2025-10), code and param as it sent them.
    return invalid_request(
        "This response cannot be streamed because it was not created with background=true.",
        param="stream",
        code="invalid_request_error",
    )


def response_too_old_to_stream() -> APIError:
    # openai/openai-python#2828; one public client test quotes it with a final period, the issue without.
    return invalid_request("This response can no longer be streamed because it is more than 5 minutes old")


def background_needs_store() -> APIError:
    # Not captured: a background response is polled by its id, so it must be kept.
    return invalid_request("Background responses must be stored: 'store' cannot be false.", param="store")
