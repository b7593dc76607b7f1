"""HTTP API, CLI and wiring: the one place where Coffre's objects are put together."""
