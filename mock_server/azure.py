"""The Azure flavours of the API, translated at the edge onto the contract's operations.

Two services spoke the Assistants protocol under Azure's own paths, versions and keys:

- **Azure OpenAI** (`AzureOpenAI(azure_endpoint=...)`): `/openai/{path}` and `/openai/deployments/{name}/{path}`,
  the `api-version` query parameter required, the key in an `api-key` header or an Entra token as
  `Authorization: Bearer`.
- **Azure AI Foundry agents, classic** (`azure-ai-agents`' `AgentsClient(endpoint=".../api/projects/{p}")`):
  `/api/projects/{project}/{path}` with `api-version=v1`, a bearer token from any credential.

`AzureEdge.admit` reads such a request before the rate limit, faults and dispatch see it: it checks the version
and the credentials (answering Azure's own errors), names the state's project (`azure-openai:<key>`,
`foundry:<project>`: each service kept its own threads, apart from api.openai.com's), and leaves in the
request's state the `Route` that dispatch serves: the contract's path, the query without `api-version`. The
request's own path stays as the client sent it, for the journal, fault rules and the access log. The objects
on the wire are the OpenAI ones in both services (azure-ai-agents renames `assistant_id` to `agent_id` only
in Python), so nothing else is translated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from starlette.types import Scope

from .errors import APIError

AZURE_OPENAI = "/openai/"
FOUNDRY = "/api/projects/"
PREFIXES = (AZURE_OPENAI, FOUNDRY)

# The data-plane versions of Azure OpenAI that served Assistants v2 (all previews: no GA version had Assistants),
# from 2024-05-01-preview, the first with v2, to the last before the retirement.
AZURE_OPENAI_VERSIONS = frozenset(
    {
        "2024-05-01-preview",
        "2024-07-01-preview",
        "2024-08-01-preview",
        "2024-09-01-preview",
        "2024-10-01-preview",
        "2024-12-01-preview",
        "2025-01-01-preview",
        "2025-02-01-preview",
        "2025-03-01-preview",
        "2025-04-01-preview",
    }
)
# Versions Azure OpenAI knew that had no Assistants v2: the GA versions, the earlier previews, and the three
# that served Assistants v1 (which the mock does not serve, as it refuses `OpenAI-Beta: assistants=v1`).
AZURE_OPENAI_WITHOUT_ASSISTANTS = frozenset(
    {
        "2022-12-01",
        "2023-05-15",
        "2024-02-01",
        "2024-06-01",
        "2024-10-21",
        "2023-03-15-preview",
        "2023-06-01-preview",
        "2023-07-01-preview",
        "2023-08-01-preview",
        "2023-09-01-preview",
        "2023-12-01-preview",
        "2024-02-15-preview",
        "2024-03-01-preview",
        "2024-04-01-preview",
    }
)
# Foundry's agents service named its versions in its refusal ("The supported versions are 'v1', ..."):
# azure-ai-agents 1.0.0 and 1.1.0 send v1, the 1.1.0 betas 2025-05-15-preview.
FOUNDRY_VERSIONS = ("v1", "2025-05-01", "2025-05-15-preview")

COGNITIVE_SERVICES_AUDIENCE = "https://cognitiveservices.azure.com"
FOUNDRY_AUDIENCE = "https://ai.azure.com"
BETA = "assistants=v2"


class AzureError(APIError):
    """An error in Azure's own body, which is not the OpenAI envelope."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        message = body.get("message") or body.get("error", {}).get("message", "")
        super().__init__(status, str(message))
        self._body = body

    def body(self) -> dict[str, Any]:
        return self._body


def resource_not_found() -> AzureError:
    # Azure OpenAI's answer to a path or version it does not serve (with the space after the colon it sent).
    return AzureError(404, {"error": {"code": "404", "message": "Resource not found"}})


def api_version_not_supported() -> AzureError:
    return AzureError(400, {"error": {"code": "BadRequest", "message": "API version not supported"}})


def missing_subscription_key() -> AzureError:
    return AzureError(
        401,
        {
            "error": {
                "code": "401",
                "message": "Access denied due to missing subscription key. Make sure to include subscription key "
                "when making requests to an API.",
            }
        },
    )


def invalid_subscription_key() -> AzureError:
    return AzureError(
        401,
        {
            "error": {
                "code": "401",
                "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                "provide a valid key for an active subscription and use a correct regional API endpoint for your "
                "resource.",
            }
        },
    )


def invalid_token(audience: str) -> AzureError:
    # Entra token refusals came from the gateway, in its flat body.
    return AzureError(
        401,
        {
            "statusCode": 401,
            "message": f"Unauthorized. Access token is missing, invalid, audience is incorrect ({audience}), or "
            "have expired.",
        },
    )


def foundry_missing_version() -> AzureError:
    return AzureError(400, {"error": {"code": "BadRequest", "message": "api-version not specified"}})


def foundry_unsupported_version(version: str) -> AzureError:
    supported = ", ".join(f"'{v}'" for v in FOUNDRY_VERSIONS)
    return AzureError(
        400,
        {
            "error": {
                "code": "BadRequest",
                "message": f"Unsupported api version '{version}'. The supported versions are {supported}",
            }
        },
    )


def foundry_not_found(method: str, path: str) -> AzureError:
    return AzureError(404, {"error": {"code": "NotFound", "message": f"No route for {method} {path}"}})


@dataclass(frozen=True, slots=True)
class Route:
    """What dispatch serves for a request of an Azure flavour: the contract's path and the query it checks."""

    path: str
    query_string: bytes
    foundry: bool

    def unknown(self, method: str, sent: str) -> APIError:
        """The answer to a path under the flavour's prefix that the contract does not have."""
        return foundry_not_found(method, sent) if self.foundry else resource_not_found()


def split_version(query_string: bytes) -> tuple[str | None, bytes]:
    """The api-version (None when absent) and the query without it."""
    version = None
    kept = []
    for item in query_string.split(b"&"):
        name, _, value = item.partition(b"=")
        if name == b"api-version":
            version = unquote_plus(value.decode("latin-1"))
        elif item:
            kept.append(item)
    return version, b"&".join(kept)


def headers_of(scope: Scope) -> tuple[str | None, str | None]:
    """The `api-key` header and the bearer token (None for each absent or empty)."""
    key = token = None
    for name, value in scope["headers"]:
        if name == b"api-key":
            key = value.decode("latin-1").strip() or None
        elif name == b"authorization":
            scheme, _, given = value.decode("latin-1").strip().partition(" ")
            token = given.strip() if scheme.lower() == "bearer" and given.strip() else None
    return key, token


class AzureEdge:
    """Admits the requests of the Azure flavours (see the module's text). `api_keys`, when given, are the only
    keys and tokens accepted, as `--api-key` restricts OpenAI's."""

    def __init__(self, api_keys: frozenset[str]) -> None:
        self.api_keys = api_keys

    def admit(self, scope: Scope) -> None:
        path: str = scope["path"]
        if path.startswith(AZURE_OPENAI):
            self.azure_openai(scope, path[len(AZURE_OPENAI) - 1 :])
        else:
            self.foundry(scope, path[len(FOUNDRY) :])

    def azure_openai(self, scope: Scope, rest: str) -> None:
        if rest.startswith("/deployments/"):
            # /openai/deployments/{name}/threads: a client given the deployment's URL as its base.
            rest = "/" + rest[len("/deployments/") :].partition("/")[2]
        key, token = headers_of(scope)
        if key is None and token is None:
            raise missing_subscription_key()
        if self.api_keys and (key or token) not in self.api_keys:
            raise invalid_subscription_key() if key is not None else invalid_token(COGNITIVE_SERVICES_AUDIENCE)
        version, query = split_version(scope["query_string"])
        if version is None or version in AZURE_OPENAI_WITHOUT_ASSISTANTS:
            raise resource_not_found()
        if version not in AZURE_OPENAI_VERSIONS:
            raise api_version_not_supported()
        state = scope["state"]
        state["project"] = f"azure-openai:{key or token}"
        state["route"] = Route(rest, query, foundry=False)

    def foundry(self, scope: Scope, rest: str) -> None:
        project, slash, tail = rest.partition("/")
        _, token = headers_of(scope)
        if token is None or (self.api_keys and token not in self.api_keys):
            raise invalid_token(FOUNDRY_AUDIENCE)
        version, query = split_version(scope["query_string"])
        if version is None:
            raise foundry_missing_version()
        if version not in FOUNDRY_VERSIONS:
            raise foundry_unsupported_version(version)
        state = scope["state"]
        state["project"] = f"foundry:{project}"
        state["route"] = Route(slash + tail, query, foundry=True)
