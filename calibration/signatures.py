"""Electronic signatures (21 CFR Part 11 §11.50, §11.70, §11.200) with Ed25519.

A signature binds the signer's id and printed name, the UTC time, the meaning (performed,
reviewed, approved, revoked) and the record's id, version and content hash; it is made with the
signer's private key, which is kept encrypted under the signer's password (two components:
user id and password). Copying a signature onto another record, or changing any byte the
content hash covers, makes verification fail.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from calibration.audit import utc_now
from calibration.record import canonical_json

logger = logging.getLogger(__name__)

MEANINGS: tuple[str, ...] = ("performed", "reviewed", "approved", "revoked")
ROLE_FOR_MEANING: dict[str, str] = {
    "performed": "performer",
    "reviewed": "reviewer",
    "approved": "approver",
    "revoked": "approver",
}
MIN_PASSWORD_LENGTH = 8


class AuthorisationError(PermissionError):
    """A person tried something their role or the record's state does not allow."""


@dataclass(frozen=True)
class User:
    """A person who may sign: id, printed name, roles and public key (hex)."""

    user_id: str
    name: str
    roles: tuple[str, ...]
    public_key_hex: str

    def public_key(self) -> Ed25519PublicKey:
        """The Ed25519 verification key."""
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key_hex))


@dataclass(frozen=True)
class Signature:
    """One signature manifestation and its Ed25519 signature (hex)."""

    record_id: str
    version: int
    content_sha256: str
    meaning: str
    signer_id: str
    signer_name: str
    signed_utc: str
    signature_hex: str = ""

    def message(self) -> bytes:
        """What is signed: every field but the signature itself."""
        fields = asdict(self)
        fields.pop("signature_hex")
        return canonical_json(fields).encode()

    def to_json(self) -> str:
        """Serialised form."""
        return canonical_json(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Signature:
        """Parse :meth:`to_json` output."""
        return cls(**json.loads(text))


def new_key_pair(password: str) -> tuple[bytes, str]:
    """A fresh Ed25519 key: (PEM of the private key encrypted with ``password``, public hex)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode()),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return pem, public.hex()


def load_private_key(pem_path: Path, user_id: str, password: str) -> Ed25519PrivateKey:
    """Unlock a signer's key; a wrong password raises :class:`AuthorisationError`."""
    try:
        key = serialization.load_pem_private_key(pem_path.read_bytes(), password.encode())
    except FileNotFoundError:
        raise AuthorisationError(f"no signing key for user {user_id!r}") from None
    except (ValueError, TypeError):
        logger.info("refused: wrong password for user %s", user_id)
        raise AuthorisationError(f"wrong password for user {user_id!r}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuthorisationError(f"the key of user {user_id!r} is not an Ed25519 key")
    return key


def sign(
    key: Ed25519PrivateKey,
    user: User,
    record_id: str,
    version: int,
    content_sha256: str,
    meaning: str,
) -> Signature:
    """Sign one record version with ``meaning``."""
    unsigned = Signature(
        record_id, version, content_sha256, meaning, user.user_id, user.name, utc_now()
    )
    return Signature(**{**asdict(unsigned), "signature_hex": key.sign(unsigned.message()).hex()})


def verify_signature(
    signature: Signature, user: User | None, record_id: str, version: int, content_sha256: str
) -> list[str]:
    """Problems with one signature on a record version (empty when valid)."""
    label = f"{signature.meaning} signature of {signature.signer_id}"
    problems = []
    if (signature.record_id, signature.version) != (record_id, version):
        problems.append(
            f"{label} belongs to {signature.record_id}@{signature.version}, "
            f"not to {record_id}@{version}"
        )
    if signature.content_sha256 != content_sha256:
        problems.append(f"{label} was made over different content")
    if user is None:
        return [*problems, f"{label}: signer is not a registered user"]
    try:
        user.public_key().verify(bytes.fromhex(signature.signature_hex), signature.message())
    except (InvalidSignature, ValueError):
        problems.append(f"{label} does not verify with the signer's key")
    return problems
