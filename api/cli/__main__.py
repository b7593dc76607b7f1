"""`python -m api.cli`: the `coffre` command."""

from api.cli.main import main

if __name__ == "__main__":
    main()
