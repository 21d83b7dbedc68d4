"""Pure ASGI middleware, outermost first: request context, then auth."""
