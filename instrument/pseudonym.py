"""Pseudonymisation of subject identifiers with a keyed hash (HMAC-SHA-256).

The same subject id gives the same pseudonym at one site (same key), so runs of one subject
can be linked without the id itself ever being stored. The key is a secret of the site: it is
read from ``NIRPOCT_PSEUDONYM_KEY`` (hex), or from the key file (``NIRPOCT_KEY_FILE``, default
``~/.config/nirpoct/pseudonym.key``), which is created with owner-only permissions on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "NIRPOCT_PSEUDONYM_KEY"
KEY_FILE_ENV = "NIRPOCT_KEY_FILE"
KEY_BYTES = 32
PSEUDONYM_HEX_DIGITS = 20


def default_key_file() -> Path:
    """Where the site key lives unless ``NIRPOCT_KEY_FILE`` says otherwise."""
    configured = os.environ.get(KEY_FILE_ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".config" / "nirpoct" / "pseudonym.key"


def load_site_key() -> bytes:
    """Return the site's pseudonymisation key, creating the key file if there is none."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        try:
            key = bytes.fromhex(from_env)
        except ValueError:
            raise ValueError(f"{KEY_ENV} must be a hex string") from None
        if len(key) < 16:
            raise ValueError(f"{KEY_ENV} must hold at least 16 bytes (32 hex digits)")
        return key
    path = default_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(KEY_BYTES))
    try:
        return bytes.fromhex(path.read_text().strip())
    except ValueError:
        raise ValueError(f"pseudonymisation key file {path} does not hold a hex key") from None


def pseudonymise(subject_id: str, key: bytes) -> str:
    """Keyed-hash pseudonym of a subject id, e.g. ``sub-3f9a…``; empty id gives ``""``."""
    if not subject_id:
        return ""
    digest = hmac.new(key, subject_id.strip().encode(), hashlib.sha256).hexdigest()
    return "sub-" + digest[:PSEUDONYM_HEX_DIGITS]
