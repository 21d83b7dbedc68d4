"""openai-threads-mock: an offline mock and contract-test server for the OpenAI Threads API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .app import MockApp, create_app
    from .settings import Settings

__all__ = ["MockApp", "Settings", "__version__", "create_app"]


def __getattr__(name: str) -> Any:
    """The app is imported on first use: `mock_server.protocols` (which the bench's bare baseline serves with)
    and the command line's quick paths do not load the contract."""
    if name in ("MockApp", "create_app"):
        from . import app

        return getattr(app, name)
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
