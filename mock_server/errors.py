"""The OpenAI error envelope and the exact wording the real API used for each failure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

ACCOUNT_KEYS_URL = "https://platform.openai.com/account/api-keys"

# Each status the mock can answer with, and the `type` the real API sent with it.
STATUS_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
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
        code: str | None = None,
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


def unsupported_content_type(content_type: str) -> APIError:
    return APIError(
        415,
        f"Unsupported content type: '{content_type}'. This API method only accepts 'application/json' "
        f"requests, but you specified the header 'Content-Type: {content_type}'. Please try again with a "
        "supported content type.",
        code="unsupported_content_type",
    )


def body_too_large(limit: int) -> APIError:
    return APIError(
        413,
        f"The request body is too large. The maximum body size is {limit} bytes.",
        code="request_too_large",
    )


def server_error(request_id: str) -> APIError:
    return APIError(
        500,
        "The server had an error processing your request. Sorry about that! You can retry your request, "
        "or contact us through our help center at help.openai.com if you keep seeing this error. "
        f"(Please include the request ID {request_id} in your email.)",
    )
