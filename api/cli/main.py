"""The `coffre` command: its commands, and the one mapping of errors to the shell."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from api.cli import commands
from api.cli.admin import audit_app, keys_app, models_app
from api.cli.common import fail
from api.cli.eval import eval_app
from api.cli.jobs import jobs_app
from indexes.errors import CoffreError
from indexes.private_files import OTHERS


class CoffreGroup(TyperGroup):
    """The top command group: any CoffreError of any command, however deep, becomes its
    one-line red message and the error's exit code (no traceback)."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; map the error tree (indexes.errors) to the shell."""
        try:
            return super().invoke(ctx)
        except CoffreError as exc:
            raise fail(str(exc), exc.exit_code) from exc


app = typer.Typer(cls=CoffreGroup,
                  help="Coffre: answers from the bank's own documents, with cited sources.",
                  no_args_is_help=True, add_completion=False)
for command in (commands.ingest, commands.reindex, commands.search, commands.ask, commands.serve,
                commands.demo):
    app.command()(command)
app.add_typer(eval_app, name="eval")
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(jobs_app, name="jobs")


def main() -> None:
    """Entry point of the `coffre` script (every command, the server's `serve` included)."""
    # Whatever this process writes is the service user's alone: a second guard behind the
    # explicit modes of indexes.private_files, for files other libraries create.
    os.umask(OTHERS)
    try:
        app()
    except CoffreError as exc:
        # Past the group's own mapping (an error while parsing, say): same message and code.
        fail(str(exc), exc.exit_code)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
