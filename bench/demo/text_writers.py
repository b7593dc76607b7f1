"""Write the demo corpus text formats: the e-mail (from TOML) and verbatim text files."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from corpus_common import load_source


def write_eml(source_path: Path, out_path: Path) -> None:
    """Write a plain-text RFC 5322 message: the source's headers in order, then its body."""
    source = load_source(source_path)
    message = EmailMessage()
    for name, value in source["headers"].items():
        message[name] = format_datetime(value) if isinstance(value, dt.datetime) else value
    message.set_content(source["content"]["body"])
    out_path.write_bytes(bytes(message))


def copy_text(source_path: Path, out_path: Path) -> None:
    """Copy a UTF-8 text file (HTML, Markdown, plain text), writing LF line endings; a file
    that is its own source (written by hand in corpus/) is left as it is."""
    if source_path.resolve() == out_path.resolve():
        return
    text = source_path.read_text(encoding="utf-8")
    out_path.write_text(text, encoding="utf-8", newline="\n")
