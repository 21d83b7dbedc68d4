"""`threads-mock fuzz`: Schemathesis runs the contract against the mock or any server that claims the Threads API.

The modules, each one concept: `options` (the command line, no heavy imports), `constraints` (the contract's
prose constraints applied to generated requests), `preflight` (can anything be tested at that URL?), `runner`
(Schemathesis's engine through its Python API, reduced to an `FuzzResult`), `result` (plain results),
`report` (terminal text, JUnit XML, JSON), `command` (puts them together and picks the exit code).
Schemathesis is imported only when a run starts, so `threads-mock serve` never pays for it.
"""
