"""The calibration registry: records, people, lifecycle, audit trail, verification, impact.

A registry is a directory::

    records/<ID>-v<version>.h5   one file per record version (see calibration.storage)
    users.json                   people who may sign: names, roles, public keys
    keys/<user>.pem              their private keys, encrypted with their passwords
    audit.jsonl                  the hash-chained audit trail (calibration.audit)
    index.json                   the registry index, rebuilt from the audit trail on every change

Beside the directory, ``<name>.audit-head.json`` witnesses the audit chain's head (length and
hash of its last entry) outside the registry; run records keep the head they were made with
(:meth:`Registry.chain_head`). A registry whose chain is shorter than, or does not extend, a
head it has witnessed was rolled back (e.g. an older copy put back, reviving a revoked
calibration): :meth:`Registry.verify` reports it, so the gate refuses its records.

The lifecycle of a record version is replayed from the audit trail:
``draft`` → (reviewed) ``reviewed`` → (approved) ``approved`` → ``due`` (within
:data:`DUE_WINDOW_DAYS` of its due date) → ``expired``; an approved version becomes
``superseded`` when a correction of it is approved, and any version can be ``revoked``.
Approved versions are immutable: a correction is a new version that points to the old one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from calibration.audit import AuditEntry, AuditTrail, verify_chain
from calibration.record import RecordContent, RecordHeader
from calibration.roles import ROLES
from calibration.signatures import (
    MEANINGS,
    ROLE_FOR_MEANING,
    AuthorisationError,
    Signature,
    User,
    load_private_key,
    new_key_pair,
    sign,
    verify_signature,
)
from calibration.storage import (
    RecordIntegrityError,
    StoredRecord,
    append_signature,
    read_record_file,
    write_record_file,
)

logger = logging.getLogger(__name__)

DUE_WINDOW_DAYS = 30
USABLE_STATES = ("approved", "due")
OVERRIDABLE_STATES = ("expired",)
USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "performed": ("draft",),
    "reviewed": ("draft",),
    "approved": ("reviewed",),
    "revoked": ("draft", "reviewed", "approved", "superseded"),
}
STATE_AFTER = {
    "performed": "draft",
    "reviewed": "reviewed",
    "approved": "approved",
    "revoked": "revoked",
}


def transition_problem(
    reference: str, state: str | None, meaning: str, user: User | None, performer: str
) -> str | None:
    """Why ``user`` may not sign ``reference`` (now ``state``) with ``meaning``; None if allowed.

    The rules: each meaning needs its role; only the performer signs ``performed`` and nobody
    reviews or approves their own measurement; review comes before approval; approved versions
    change only by revocation or supersession.
    """
    if meaning not in ALLOWED_FROM:
        return f"{meaning!r} is not a signature meaning"
    if user is None:
        return f"the signer of {reference} is not a registered user"
    role = ROLE_FOR_MEANING[meaning]
    if role not in user.roles:
        return f"{user.user_id!r} lacks the {role} role needed to sign {meaning}"
    if meaning == "performed" and user.user_id != performer:
        return f"only the performer {performer!r} signs {reference} performed"
    if meaning in ("reviewed", "approved") and user.user_id == performer:
        return f"{user.user_id!r} performed {reference} and may not sign it {meaning}"
    if state not in ALLOWED_FROM[meaning]:
        return (
            f"{reference} is {state}; it cannot be signed {meaning} "
            f"(allowed from: {', '.join(ALLOWED_FROM[meaning])})"
        )
    return None


@dataclass(frozen=True)
class IndexEntry:
    """One record version as the registry index lists it."""

    record_id: str
    version: int
    kind: str
    title: str
    item_serial: str
    component: str
    calibration_date: str
    due_date: str
    lifecycle: str
    content_sha256: str
    file: str
    supersedes: str
    out_of_tolerance_as_found: bool

    @property
    def reference(self) -> str:
        """``ID@version``."""
        return f"{self.record_id}@{self.version}"

    def state_on(self, day: dt.date) -> str:
        """Effective state on ``day``: lifecycle, or ``due``/``expired`` for approved ones."""
        if self.lifecycle != "approved":
            return self.lifecycle
        due = dt.date.fromisoformat(self.due_date)
        if day > due:
            return "expired"
        if (due - day).days <= DUE_WINDOW_DAYS:
            return "due"
        return "approved"


@dataclass(frozen=True)
class RunUse:
    """A run as the impact assessment sees it.

    Attributes
    ----------
    path : str
        Where its record is.
    start_time_utc : str
        When it started (ISO 8601).
    device_serials : frozenset of str
        Serial numbers of the devices it used.
    """

    path: str
    start_time_utc: str
    device_serials: frozenset[str]


@dataclass(frozen=True)
class ImpactReport:
    """Runs affected by an out-of-tolerance as-found result."""

    record: str
    out_of_tolerance: bool
    since: str
    runs: tuple[str, ...]


@dataclass(frozen=True)
class ChainHead:
    """The head of a registry's audit chain: how many entries, and the hash of the last one.

    A later state of the same registry has at least ``length`` entries and the same hash at
    entry ``length``; anything else is a rollback or a different registry.
    """

    length: int
    entry_hash: str

    def as_attributes(self) -> dict[str, int | str]:
        """The head as run-record attributes."""
        return {"calibration_audit_length": self.length, "calibration_audit_head": self.entry_hash}

    @classmethod
    def from_attributes(cls, attributes: dict[str, object]) -> ChainHead | None:
        """The head stored by :meth:`as_attributes`, or None when there is none."""
        length = attributes.get("calibration_audit_length")
        entry_hash = attributes.get("calibration_audit_head")
        if length is None or entry_hash is None:
            return None
        return cls(int(str(length)), str(entry_hash))


def head_problem(entries: list[AuditEntry], head: ChainHead, witness: str) -> str | None:
    """Why a trail of ``entries`` does not extend ``head`` seen by ``witness``; None if it does."""
    if head.length == 0:
        return None
    if len(entries) < head.length:
        return (
            f"the audit trail has {len(entries)} entries, fewer than the {head.length} "
            f"{witness} witnessed: the registry was rolled back to an older copy"
        )
    if entries[head.length - 1].entry_hash != head.entry_hash:
        return (
            f"audit entry {head.length} differs from the one {witness} witnessed: the registry "
            "was replaced or rewritten"
        )
    return None


class RecordNotFound(LookupError):
    """No record with that id (or version) in the registry."""


def parse_reference(reference: str) -> tuple[str, int | None]:
    """Split ``ID`` or ``ID@version``."""
    record_id, _, version = reference.partition("@")
    if not version:
        return record_id, None
    try:
        return record_id, int(version)
    except ValueError:
        raise ValueError(f"record version in {reference!r} is not a number") from None


class Registry:
    """A calibration registry rooted at ``root`` (created on first use).

    Parameters
    ----------
    root : pathlib.Path
        The registry directory.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.audit = AuditTrail(self.root / "audit.jsonl")

    # ------------------------------------------------------------------ audit chain head
    @property
    def witness_path(self) -> Path:
        """The file beside the registry that witnesses its audit chain's head."""
        root = self.root.absolute()
        return root.parent / f"{root.name}.audit-head.json"

    def chain_head(self) -> ChainHead:
        """The audit chain's head now (store it in every run record that uses the registry)."""
        entries = self.audit.entries()
        return ChainHead(len(entries), entries[-1].entry_hash if entries else "")

    def witnessed_head(self) -> ChainHead | None:
        """The head the witness file holds, or None when there is no witness yet.

        Raises
        ------
        ValueError
            The witness file is unreadable or malformed (naming it).
        """
        try:
            data = json.loads(self.witness_path.read_text())
            return ChainHead(int(data["length"]), str(data["entry_hash"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{self.witness_path}: the registry's audit-head witness is unreadable ({exc})"
            ) from None

    def _witness(self, head: ChainHead) -> None:
        """Record ``head`` in the witness file when it extends the head witnessed so far."""
        try:
            witnessed = self.witnessed_head()
        except ValueError:
            witnessed = None
        if witnessed is not None and witnessed.length > head.length:
            return
        scratch = self.witness_path.with_name(f".{self.witness_path.name}.{os.getpid()}")
        try:
            scratch.write_text(
                json.dumps({**asdict(head), "registry": str(self.root.absolute())}, indent=2)
            )
            os.replace(scratch, self.witness_path)
        except OSError as exc:
            logger.warning("cannot witness the audit head of %s: %s", self.root, exc)

    def _append(
        self,
        user: str,
        action: str,
        record: str = "",
        content_sha256: str = "",
        reason: str = "",
        details: dict[str, object] | None = None,
    ) -> AuditEntry:
        """Append to the audit trail and witness the new head outside the registry."""
        entry = self.audit.append(user, action, record, content_sha256, reason, details)
        self._witness(ChainHead(entry.sequence, entry.entry_hash))
        return entry

    def rollback_problem(self, head: ChainHead, witness: str) -> str | None:
        """Why this registry's audit chain does not extend ``head`` (seen by ``witness``, e.g.
        a run record's path); None when it does. For heads kept in run records."""
        return head_problem(self.audit.entries(), head, witness)

    # ------------------------------------------------------------------ people
    @property
    def _users_path(self) -> Path:
        return self.root / "users.json"

    def users(self) -> dict[str, User]:
        """Registered users by id."""
        if not self._users_path.exists():
            return {}
        try:
            data = json.loads(self._users_path.read_text())
            return {
                uid: User(uid, u["name"], tuple(u["roles"]), u["public_key_hex"])
                for uid, u in data.items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{self._users_path}: unreadable or malformed ({exc})") from None

    def _user(self, user_id: str) -> User:
        user = self.users().get(user_id)
        if user is None:
            raise AuthorisationError(f"{user_id!r} is not a registered user")
        return user

    def authenticate(self, user_id: str, password: str) -> tuple[User, Ed25519PrivateKey]:
        """Check user id and password; return the user and their unlocked signing key."""
        user = self._user(user_id)
        return user, load_private_key(self.root / "keys" / f"{user_id}.pem", user_id, password)

    def add_user(
        self,
        user_id: str,
        name: str,
        roles: tuple[str, ...],
        password: str,
        *,
        admin_id: str = "",
        admin_password: str = "",
    ) -> User:
        """Register a person. The first user must be an administrator; later users are added
        by an administrator, who authenticates."""
        if not USER_ID.match(user_id) or user_id in (".", ".."):
            raise ValueError(
                f"user id {user_id!r} must be 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        unknown = set(roles) - set(ROLES)
        if unknown or not roles:
            raise ValueError(f"roles must be among {ROLES}, got {roles}")
        users = self.users()
        if user_id in users:
            raise ValueError(f"user {user_id!r} already exists")
        if users:
            admin, _ = self.authenticate(admin_id, admin_password)
            if "administrator" not in admin.roles:
                raise AuthorisationError(f"{admin_id!r} is not an administrator")
            actor = admin_id
        elif "administrator" not in roles:
            raise AuthorisationError("the first user of a registry must be an administrator")
        else:
            actor = user_id
        pem, public_hex = new_key_pair(password)
        (self.root / "keys").mkdir(parents=True, exist_ok=True)
        key_path = self.root / "keys" / f"{user_id}.pem"
        key_path.write_bytes(pem)
        key_path.chmod(0o600)
        user = User(user_id, name, tuple(roles), public_hex)
        users[user_id] = user
        self._users_path.write_text(
            json.dumps(
                {
                    u.user_id: {
                        "name": u.name,
                        "roles": list(u.roles),
                        "public_key_hex": u.public_key_hex,
                    }
                    for u in users.values()
                },
                indent=2,
            )
        )
        self._append(
            actor,
            "add-user",
            details={"user": user_id, "name": name, "roles": list(roles), "public_key": public_hex},
        )
        return user

    # ------------------------------------------------------------------ records
    def _path(self, record_id: str, version: int) -> Path:
        return self.root / "records" / f"{record_id}-v{version}.h5"

    def create(
        self, content: RecordContent, password: str, *, supersedes: str = "", reason: str = ""
    ) -> IndexEntry:
        """Store a new record version as a draft, signed ``performed`` by its performer.

        ``supersedes`` (``ID@version``) makes it a correction of an earlier version.

        Raises
        ------
        AuthorisationError
            Wrong password, or the performer lacks the performer role.
        ValueError
            A reference standard was out of date on the calibration date, or the corrected
            version does not exist.
        """
        user, key = self.authenticate(content.performed_by, password)
        if "performer" not in user.roles:
            logger.info("refused: %s may not perform calibrations", user.user_id)
            raise AuthorisationError(f"{user.user_id!r} may not perform calibrations")
        day = dt.date.fromisoformat(content.calibration_date)
        for standard in content.references:
            if not standard.in_date_on(day):
                raise ValueError(
                    f"reference standard {standard.name} ({standard.certificate_id}) was due on "
                    f"{standard.due_date}, before the calibration date {day}"
                )
        if supersedes:
            old = self.entry(supersedes)
            latest = self.entry(old.record_id)
            if old.version != latest.version:
                raise ValueError(
                    f"only the latest version of {old.record_id} can be corrected; "
                    f"that is {latest.reference}"
                )
            if not reason:
                raise ValueError("a correction needs a reason")
            record_id, version, supersedes = old.record_id, old.version + 1, old.reference
        else:
            record_id = f"CAL-{day:%Y%m%d}-{secrets.token_hex(3).upper()}"
            version = 1
        header = RecordHeader(record_id, version, supersedes, dt.datetime.now(dt.UTC).isoformat())
        path = self._path(record_id, version)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = write_record_file(path, header, content)
        reference = f"{record_id}@{version}"
        self._append(
            user.user_id,
            "create",
            reference,
            digest,
            reason or "new calibration",
            {
                "kind": content.kind,
                "title": content.title,
                "item_serial": content.item.serial,
                "component": content.item.component,
                "calibration_date": content.calibration_date,
                "due_date": content.due_date.isoformat(),
                "file": str(path.relative_to(self.root)),
                "supersedes": supersedes,
                "out_of_tolerance_as_found": content.out_of_tolerance_as_found,
            },
        )
        self._sign(record_id, version, "performed", user, key, digest, "")
        logger.info(
            "created calibration %s (%s) performed by %s", reference, content.kind, user.user_id
        )
        return self.entry(reference)

    def _sign(
        self,
        record_id: str,
        version: int,
        meaning: str,
        user: User,
        key: Ed25519PrivateKey,
        digest: str,
        reason: str,
    ) -> Signature:
        reference = f"{record_id}@{version}"
        signature = sign(key, user, record_id, version, digest, meaning)
        append_signature(self._path(record_id, version), signature)
        self._append(
            user.user_id,
            "sign",
            reference,
            digest,
            reason,
            {"meaning": meaning, "signature": signature.signature_hex},
        )
        self._write_index()
        return signature

    def sign(
        self, reference: str, meaning: str, user_id: str, password: str, reason: str = ""
    ) -> IndexEntry:
        """Review, approve or revoke a record version.

        Raises
        ------
        AuthorisationError
            Wrong password, missing role, signing one's own measurement, or a step out of
            sequence (approve before review, change an approved or revoked version).
        """
        if meaning not in MEANINGS or meaning == "performed":
            raise ValueError(f"meaning must be one of reviewed, approved, revoked; got {meaning!r}")
        entry = self.entry(reference)
        user, key = self.authenticate(user_id, password)
        problem = transition_problem(
            entry.reference, entry.lifecycle, meaning, user, self._performer(entry.reference)
        )
        if problem:
            logger.info(
                "refused to sign %s %s for %s: %s", entry.reference, meaning, user_id, problem
            )
            raise AuthorisationError(problem)
        if meaning == "revoked" and not reason:
            raise ValueError("revoking a record needs a reason")
        stored = self.load(entry.reference)
        if stored.computed_sha256 != entry.content_sha256:
            logger.warning("calibration %s was altered; refused to sign it", entry.reference)
            raise RecordIntegrityError(f"{entry.reference} was altered; it cannot be signed")
        self._sign(entry.record_id, entry.version, meaning, user, key, entry.content_sha256, reason)
        logger.info("calibration %s signed %s by %s", entry.reference, meaning, user_id)
        if meaning == "approved":
            for older in self.index().values():
                if (
                    older.record_id == entry.record_id
                    and older.version < entry.version
                    and older.lifecycle == "approved"
                ):
                    self._append(
                        user_id,
                        "supersede",
                        older.reference,
                        older.content_sha256,
                        f"superseded by {entry.reference}",
                        {"by": entry.reference},
                    )
            self._write_index()
        return self.entry(entry.reference)

    def _performer(self, reference: str) -> str:
        for audit_entry in self.audit.entries():
            if audit_entry.action == "create" and audit_entry.record == reference:
                return audit_entry.user
        raise RecordNotFound(f"no creation of {reference} in the audit trail")

    # ------------------------------------------------------------------ queries
    def index(self) -> dict[str, IndexEntry]:
        """Every record version, by ``ID@version``, replayed from the audit trail."""
        return self._replay()[0]

    def _replay(self) -> tuple[dict[str, IndexEntry], list[str]]:
        """Replay the audit trail: record versions with their states, and every transition the
        rules do not allow (those are not applied)."""
        users = self.users()
        entries: dict[str, IndexEntry] = {}
        performers: dict[str, str] = {}
        problems: list[str] = []
        for audit_entry in self.audit.entries():
            reference, action = audit_entry.record, audit_entry.action
            where = f"audit entry {audit_entry.sequence}"
            if action == "create":
                record_id, version = parse_reference(reference)
                d = audit_entry.details
                performers[reference] = audit_entry.user
                entries[reference] = IndexEntry(
                    record_id, version or 1, d["kind"], d["title"], d["item_serial"],
                    d["component"], d["calibration_date"], d["due_date"], "draft",
                    audit_entry.content_sha256, d["file"], d["supersedes"],
                    d["out_of_tolerance_as_found"],
                )  # fmt: skip
                continue
            if action not in ("sign", "supersede") or reference not in entries:
                continue
            current = entries[reference]
            if action == "sign":
                meaning = audit_entry.details.get("meaning", "")
                problem = transition_problem(
                    reference,
                    current.lifecycle,
                    meaning,
                    users.get(audit_entry.user),
                    performers[reference],
                )
                new_state = STATE_AFTER.get(meaning, "")
            else:
                by = entries.get(audit_entry.details.get("by", ""))
                valid = (
                    current.lifecycle == "approved"
                    and by is not None
                    and by.record_id == current.record_id
                    and by.version > current.version
                    and by.lifecycle == "approved"
                )
                problem = (
                    None
                    if valid
                    else f"{reference} was marked superseded without an approved newer version"
                )
                new_state = "superseded"
            if problem:
                problems.append(f"{where}: {problem}")
                continue
            entries[reference] = IndexEntry(**{**asdict(current), "lifecycle": new_state})
        return entries, problems

    def entry(self, reference: str) -> IndexEntry:
        """One record version; ``ID`` alone means its latest version.

        Raises
        ------
        RecordNotFound
            Naming the reference when there is no such record.
        """
        record_id, version = parse_reference(reference)
        versions = [e for e in self.index().values() if e.record_id == record_id]
        if version is not None:
            versions = [e for e in versions if e.version == version]
        if not versions:
            raise RecordNotFound(f"no calibration record {reference} in {self.root}")
        return max(versions, key=lambda e: e.version)

    def load(self, reference: str) -> StoredRecord:
        """Read a record version's file.

        Raises
        ------
        RecordIntegrityError
            The file is missing, unreadable or corrupt (naming the record and the file).
        """
        entry = self.entry(reference)
        path = self.root / entry.file
        try:
            return read_record_file(path)
        except RecordIntegrityError as exc:
            raise RecordIntegrityError(f"{entry.reference}: {exc}") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RecordIntegrityError(
                f"{entry.reference}: {path}: a signature or field of the record file is "
                f"unreadable (corrupt: {exc})"
            ) from None

    def _write_index(self) -> None:
        index = {ref: asdict(e) for ref, e in self.index().items()}
        (self.root / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True))

    def latest_usable(self, record_id: str, day: dt.date) -> IndexEntry | None:
        """The newest version of ``record_id`` that is approved (or due) on ``day``."""
        usable = [
            e
            for e in self.index().values()
            if e.record_id == record_id and e.state_on(day) in USABLE_STATES
        ]
        return max(usable, key=lambda e: e.version) if usable else None

    # ------------------------------------------------------------------ integrity
    def verify(self, reference: str | None = None) -> list[str]:
        """Every integrity problem found (empty when all is intact).

        Checks that the registry exists and has an audit trail; the audit chain, and that it
        extends the head witnessed beside the registry (no rollback); the users file against
        the audit trail; every record file's checksums and content hash against its own stored
        hash and the audit trail; every signature against its signer's key, the record it
        claims and the audit trail; and the index file against the replayed trail. A damaged
        file is reported by name and the other checks go on.

        Raises
        ------
        ValueError
            The registry folder does not exist (or is a file).
        RecordNotFound
            ``reference`` names no record of the registry.
        """
        if not self.root.is_dir():
            what = "is a file, not" if self.root.exists() else "does not exist; it is not"
            raise ValueError(f"{self.root}: {what} a calibration registry folder")
        if not self.audit.path.is_file():
            return [f"{self.audit.path}: missing; without its audit trail the registry cannot "
                    "be verified (deleted, or not a calibration registry)"]  # fmt: skip
        try:
            entries = self.audit.entries()
        except ValueError as exc:
            return [str(exc)]
        problems = verify_chain(entries) + self._verify_witness(entries)
        try:
            users = self.users()
            index, replay_problems = self._replay()
        except (ValueError, KeyError, TypeError) as exc:
            return [*problems, f"the registry cannot be replayed: {exc}"]
        problems += self._verify_users(entries, users) + replay_problems
        problems += self._verify_overrides(entries, users)
        record_id, version = parse_reference(reference) if reference else ("", None)
        selected = [
            e
            for e in index.values()
            if reference is None or (e.record_id == record_id and version in (None, e.version))
        ]
        if reference and not selected:
            raise RecordNotFound(f"no calibration record {reference} in {self.root}")
        signed: dict[str, tuple[str, str | None, str]] = {
            e.details.get("signature", ""): (e.record, e.details.get("meaning"), e.user)
            for e in entries
            if e.action == "sign"
        }
        for entry in selected:
            problems += self._verify_record(entry, users, signed)
        problems += self._verify_index(index)
        if not problems:
            self._witness(ChainHead(len(entries), entries[-1].entry_hash if entries else ""))
        if problems:
            logger.warning("registry %s: %d integrity problems", self.root, len(problems))
        for problem in problems:
            logger.info("registry %s: %s", self.root, problem)
        return problems

    def _verify_witness(self, entries: list[AuditEntry]) -> list[str]:
        try:
            witnessed = self.witnessed_head()
        except ValueError as exc:
            return [str(exc)]
        if witnessed is None:
            return []
        problem = head_problem(entries, witnessed, f"the witness {self.witness_path}")
        return [problem] if problem else []

    def _verify_users(self, entries: list[AuditEntry], users: dict[str, User]) -> list[str]:
        registered = {e.details.get("user"): e.details for e in entries if e.action == "add-user"}
        return [
            f"user {user_id!r} in users.json differs from the audit trail"
            for user_id, user in users.items()
            if (recorded := registered.get(user_id)) is None
            or recorded.get("public_key") != user.public_key_hex
            or tuple(recorded.get("roles", ())) != user.roles
        ]

    def _verify_index(self, index: dict[str, IndexEntry]) -> list[str]:
        index_path = self.root / "index.json"
        if not index_path.exists():
            return []
        try:
            on_disk = json.loads(index_path.read_text())
        except (OSError, ValueError) as exc:
            return [f"{index_path}: unreadable or not JSON ({exc})"]
        replayed = json.loads(json.dumps({r: asdict(e) for r, e in index.items()}))
        return [] if on_disk == replayed else ["index.json differs from the audit trail"]

    def _verify_record(
        self,
        entry: IndexEntry,
        users: dict[str, User],
        signed: dict[str, tuple[str, str | None, str]],
    ) -> list[str]:
        try:
            stored = read_record_file(self.root / entry.file)
        except RecordIntegrityError as exc:
            return [f"{entry.reference}: {exc}"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return [
                f"{entry.reference}: {self.root / entry.file}: a signature or field of the record "
                f"file is unreadable (corrupt: {exc})"
            ]
        problems = []
        if stored.computed_sha256 != stored.stored_sha256:
            problems.append(f"{entry.reference}: content does not match its stored hash (altered)")
        if stored.computed_sha256 != entry.content_sha256:
            problems.append(
                f"{entry.reference}: content hash differs from the one recorded at creation"
            )
        for signature in stored.signatures:
            problems += [
                f"{entry.reference}: {p}"
                for p in verify_signature(
                    signature,
                    users.get(signature.signer_id),
                    entry.record_id,
                    entry.version,
                    stored.computed_sha256,
                )
            ]
            recorded = signed.get(signature.signature_hex)
            if recorded is None or recorded[0] != entry.reference:
                problems.append(
                    f"{entry.reference}: {signature.meaning} signature of {signature.signer_id} "
                    "is not in the audit trail"
                )
            elif recorded[1:] != (signature.meaning, signature.signer_id):
                problems.append(
                    f"{entry.reference}: the audit trail says {recorded[2]} signed "
                    f"{recorded[1]}, the signature says {signature.signer_id} signed "
                    f"{signature.meaning}"
                )
        in_file = {s.signature_hex for s in stored.signatures}
        for signature_hex, (reference, _, _) in signed.items():
            if reference == entry.reference and signature_hex not in in_file:
                problems.append(
                    f"{entry.reference}: a signature in the audit trail is missing from the file"
                )
        return problems

    # ------------------------------------------------------------------ consequences
    def impact(self, reference: str, runs: Iterable[RunUse], user_id: str = "") -> ImpactReport:
        """The runs made with the item since its last good calibration, when this version's
        as-found results were out of tolerance (reverse traceability); recorded in the trail.

        ``runs`` are the candidates (e.g. every run record of a folder, as their headers
        say)."""
        entry = self.entry(reference)
        if not entry.out_of_tolerance_as_found:
            return ImpactReport(entry.reference, False, "", ())
        earlier_good = [
            e
            for e in self.index().values()
            if e.item_serial == entry.item_serial
            and e.kind == entry.kind
            and e.calibration_date < entry.calibration_date
            and not e.out_of_tolerance_as_found
            and e.lifecycle in ("approved", "superseded")
        ]
        since = max((e.calibration_date for e in earlier_good), default="")
        affected = tuple(
            run.path
            for run in runs
            if entry.item_serial in run.device_serials and run.start_time_utc[:10] >= since
        )
        self._append(
            user_id or "system",
            "impact-assessed",
            entry.reference,
            entry.content_sha256,
            "as-found out of tolerance",
            {"since": since, "runs": list(affected)},
        )
        return ImpactReport(entry.reference, True, since, affected)

    def record_override(self, reference: str, user_id: str, password: str, reason: str) -> str:
        """Record an approver's signed override of an expired calibration; return its hash.

        Raises
        ------
        AuthorisationError
            The user is not an approver, performed the calibration, or the calibration's state
            cannot be overridden (only an expired one can: drafts need approval, revoked and
            altered records must not be used).
        """
        user, key = self.authenticate(user_id, password)
        if not reason:
            raise ValueError("an override needs a reason")
        entry = self.entry(reference)
        state = entry.state_on(dt.date.today())
        problem = override_problem(entry.reference, state, user, self._performer(entry.reference))
        if problem:
            logger.info("refused override of %s for %s: %s", entry.reference, user_id, problem)
            raise AuthorisationError(problem)
        signature = sign(
            key, user, entry.record_id, entry.version, entry.content_sha256, "override"
        )
        audit_entry = self._append(
            user_id,
            "override",
            entry.reference,
            entry.content_sha256,
            reason,
            {"state": state, "signature": signature.to_json()},
        )
        logger.info(
            "%s calibration %s overridden by %s: %s", state, entry.reference, user_id, reason
        )
        return audit_entry.entry_hash

    def _verify_overrides(self, entries: list[AuditEntry], users: dict[str, User]) -> list[str]:
        problems = []
        performers = {e.record: e.user for e in entries if e.action == "create"}
        for entry in (e for e in entries if e.action == "override"):
            where = f"audit entry {entry.sequence} (override of {entry.record})"
            user = users.get(entry.user)
            problem = override_problem(
                entry.record, entry.details.get("state", ""), user, performers.get(entry.record, "")
            )
            if problem:
                problems.append(f"{where}: {problem}")
                continue
            try:
                signature = Signature.from_json(entry.details["signature"])
            except (KeyError, TypeError, ValueError):
                problems.append(f"{where}: carries no signature")
                continue
            record_id, version = parse_reference(entry.record)
            bad = verify_signature(signature, user, record_id, version or 1, entry.content_sha256)
            if signature.meaning != "override" or signature.signer_id != entry.user:
                bad.append("signature is not the approver's override")
            problems += [f"{where}: {p}" for p in bad]
        return problems


def override_problem(reference: str, state: str, user: User | None, performer: str) -> str | None:
    """Why ``user`` may not override ``reference`` in ``state``; None when allowed."""
    if user is None:
        return "the overriding person is not a registered user"
    if "approver" not in user.roles:
        return f"{user.user_id!r} is not authorised to override calibrations"
    if user.user_id == performer:
        return f"{user.user_id!r} performed {reference} and may not override it"
    if state not in OVERRIDABLE_STATES:
        return f"{reference} is {state}; only an expired calibration can be overridden"
    return None
