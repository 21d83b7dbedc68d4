"""`make bench`: the mock against a bare Starlette handler under the same load (issue 6)."""
