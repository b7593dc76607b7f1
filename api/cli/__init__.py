"""The `coffre` command line (the server operator's): `main` builds and runs it."""
