"""openai-threads-mock: an offline mock and contract-test server for the OpenAI Threads API."""

from __future__ import annotations

__version__ = "0.1.0"

from .app import MockApp, create_app
from .settings import Settings

__all__ = ["MockApp", "Settings", "__version__", "create_app"]
