"""The secret key of the audit trail: what makes its chain keyed (HMAC-SHA256).

Anyone who can write the SQLite file could recompute a plain hash chain after editing it.
With a key kept outside the data folder, only a holder of the key can make a record that
verifies, so an insider with the database alone can cut, edit or reorder records but not
hide it. The key file holds 32 random bytes in hex; it is created 0600 on first use when
the trail was never written with a key, and never replaced silently: a trail written with
one key refuses to open with another or with none.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from indexes.errors import AuditKeyError

KEY_BYTES = 32
_KEY_ID_LABEL = b"coffre audit key id"
_CREDENTIAL_LABEL = b"coffre presented credential"


@dataclass(frozen=True)
class AuditKey:
    """The trail's HMAC key and the file it came from (the secret never in a repr)."""

    path: Path
    secret: bytes = field(repr=False)

    @property
    def key_id(self) -> str:
        """A public name for the key (an HMAC of a fixed label): tells keys apart without
        revealing them."""
        return hmac.new(self.secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def mac(self, payload: str) -> str:
        """HMAC-SHA256 of `payload` under this key, in hex."""
        return hmac.new(self.secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()

    def fingerprint(self, credential: str) -> str:
        """A short, non-reversible name of a presented API key or token: the same
        credential always gets the same one, and without the audit key nobody can test a
        guess against it."""
        data = _CREDENTIAL_LABEL + b"\x1f" + credential.encode("utf-8", "replace")
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()[:16]


def load_key(path: Path) -> AuditKey:
    """The key in `path`; AuditKeyError naming the file when it is absent or unreadable."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError as exc:
        raise AuditKeyError(
            f"COFFRE_AUDIT_KEY_FILE: {path} does not exist; the audit trail cannot be "
            f"verified or written without the key it was written with: restore that file "
            f"from its backup") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise AuditKeyError(
            f"COFFRE_AUDIT_KEY_FILE: cannot read {path} ({reason}); make it a file readable "
            f"by the account Coffre runs as (mode 0600)") from exc
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != KEY_BYTES:
        raise AuditKeyError(f"COFFRE_AUDIT_KEY_FILE: {path} does not hold a Coffre audit key "
                            f"({KEY_BYTES * 2} hex digits); restore the original file")
    return AuditKey(path, secret)


def create_key(path: Path) -> AuditKey:
    """A new random key written to `path` (0600, its folder 0700 when created); never
    overwrites a file that is already there (another process's new key is used instead)."""
    secret = secrets.token_bytes(KEY_BYTES)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secret.hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # A link appears whole or not at all: no process ever reads a half-written key.
        os.link(draft, path)
    except FileExistsError:
        return load_key(path)
    except OSError as exc:
        raise AuditKeyError(f"COFFRE_AUDIT_KEY_FILE: cannot create {path} ({exc.strerror}); "
                            f"create its folder writable by the account Coffre runs as, or "
                            f"point COFFRE_AUDIT_KEY_FILE elsewhere") from exc
    finally:
        draft.unlink(missing_ok=True)
    return AuditKey(path, secret)
