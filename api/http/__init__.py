"""The HTTP edge: the FastAPI app, one routes module per resource, their request and
response bodies in `schemas/`."""
