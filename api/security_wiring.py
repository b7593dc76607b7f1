"""Builds the keys, the audit trail and the token checks from the settings: who is calling,
and the record of what they did."""

from __future__ import annotations

from pathlib import Path

from api.auth import JwtConfig
from api.errors import SettingsError
from api.keys import KeyStore
from api.settings import Settings
from indexes.audit import AuditLog, AuditSeal
from indexes.private_files import private_file


def key_store(settings: Settings) -> KeyStore:
    """The API keys of this data directory."""
    return KeyStore(settings.data_dir / "auth.sqlite3")


def audit_dir(settings: Settings) -> Path:
    """The default folder of the audit key and anchors: beside the data folder, never in it
    (`coffre-data` -> `coffre-data-audit`), so a copy of the data folder carries neither."""
    data = settings.data_dir.resolve()
    return data.parent / f"{data.name or 'coffre-data'}-audit"


def audit_seal(settings: Settings) -> AuditSeal:
    """Where the audit key and anchors are (COFFRE_AUDIT_KEY_FILE, COFFRE_AUDIT_ANCHOR_FILE),
    refused inside the data folder, whose writers they guard against."""
    key_file = settings.audit_key_file or audit_dir(settings) / "audit.key"
    anchor_file = settings.audit_anchor_file or audit_dir(settings) / "anchors.log"
    data = settings.data_dir.resolve()
    for name, path in (("COFFRE_AUDIT_KEY_FILE", key_file),
                       ("COFFRE_AUDIT_ANCHOR_FILE", anchor_file)):
        if path.resolve().is_relative_to(data):
            raise SettingsError(f"{name}: {path} is inside COFFRE_DATA_DIR ({data}); keep it "
                                f"outside, where whoever can write the data folder cannot")
    return AuditSeal(key_file, anchor_file, settings.audit_anchor_every, settings.audit_syslog)


def audit_log(settings: Settings, *, create_key: bool = True) -> AuditLog:
    """The audit trail of this data directory, keyed and anchored (its key created on first
    use when `create_key`; verification never creates one)."""
    # Created 0600 before SQLite opens it, so its -wal and -shm files are private too.
    return AuditLog(private_file(settings.data_dir / "audit.sqlite3"), audit_seal(settings),
                    create_key=create_key)


def jwt_config(settings: Settings) -> JwtConfig | None:
    """How identity-provider tokens are checked, or None when only API keys are accepted."""
    if not settings.jwt_jwks_file:
        return None
    return JwtConfig(settings.jwt_jwks_file, settings.jwt_issuer, settings.jwt_audience,
                     settings.jwt_user_claim, settings.jwt_groups_claim, settings.jwt_roles_claim)
