"""Pure ASGI middleware, outermost first: the journal, the request context (ids, headers, errors),
bearer auth, the rate limit, faults; innermost, `routing.APIDispatch` hands API requests to their
operation."""
