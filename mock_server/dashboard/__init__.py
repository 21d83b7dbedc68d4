"""The dashboard: a page the mock serves at /__mock__/ to watch its requests live, see why one failed, switch
fault and reply rules, and browse the state. Plain HTML, CSS and a little JavaScript in `static/`, no build
step and nothing fetched from elsewhere; the JSON it reads is the admin API's and `routes.py`'s."""

from __future__ import annotations

from .routes import dashboard_routes

__all__ = ["dashboard_routes"]
