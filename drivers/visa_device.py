"""Base for line-based ASCII (SCPI-style) instruments reached through pyvisa.

One :class:`threading.RLock` exists per physical instrument (per resource name), shared by
every driver object that talks to it, and is held around each write+read pair, so two threads
never interleave commands. pyvisa and socket errors become :mod:`drivers.errors` exceptions
whose message names the instrument and its resource.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeVar, cast

import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError
from pyvisa.resources import MessageBasedResource

from drivers.errors import DeviceDisconnected, DeviceErrorResponse, DeviceTimeout, ProtocolError

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_REGISTRY_LOCK = threading.Lock()
_INSTRUMENT_LOCKS: dict[str, threading.RLock] = {}

_DISCONNECT_CODES = frozenset(
    {
        constants.StatusCode.error_connection_lost,
        constants.StatusCode.error_resource_not_found,
        constants.StatusCode.error_invalid_object,
        constants.StatusCode.error_io,
        constants.StatusCode.error_closing_failed,
    }
)


def instrument_lock(resource_name: str) -> threading.RLock:
    """The lock shared by every driver of the instrument at ``resource_name``."""
    key = resource_name.strip().upper()
    with _REGISTRY_LOCK:
        return _INSTRUMENT_LOCKS.setdefault(key, threading.RLock())


@dataclass(frozen=True)
class Identity:
    """Fields of an ``*IDN?`` answer."""

    manufacturer: str
    model: str
    serial: str
    firmware: str

    @classmethod
    def parse(cls, answer: str) -> Identity:
        """Parse ``manufacturer,model,serial,firmware``; raise ValueError otherwise."""
        fields = [part.strip() for part in answer.split(",")]
        if len(fields) != 4:
            raise ValueError(f"*IDN? answer {answer!r} does not have four fields")
        return cls(*fields)


class VisaDevice:
    """An ASCII instrument over pyvisa; opens nothing until :meth:`connect`.

    Parameters
    ----------
    resource_name : str
        VISA resource, e.g. ``"TCPIP::127.0.0.1::5025::SOCKET"``.
    name : str, optional
        Name used in error messages; defaults to the class's ``DEFAULT_NAME``.
    resource_manager : pyvisa.ResourceManager, optional
        Manager to open the resource with; defaults to ``pyvisa.ResourceManager("@py")``
        created at :meth:`connect` (tests pass a pyvisa-sim one, ``"file.yaml@sim"``).
    timeout_s : float
        Timeout of every read, s.
    read_termination, write_termination : str
        Terminations of this connection (they depend on the interface, not on the model).
    """

    DEFAULT_NAME = "instrument"

    def __init__(
        self,
        resource_name: str,
        *,
        name: str | None = None,
        resource_manager: pyvisa.ResourceManager | None = None,
        timeout_s: float = 2.0,
        read_termination: str = "\n",
        write_termination: str = "\n",
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0 s, got {timeout_s}")
        self.resource_name = resource_name
        self.name = name or self.DEFAULT_NAME
        self.timeout_s = timeout_s
        self.read_termination = read_termination
        self.write_termination = write_termination
        self._resource_manager = resource_manager
        self._resource: pyvisa.resources.MessageBasedResource | None = None
        self._lock = instrument_lock(resource_name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.resource_name!r}, name={self.name!r})"

    @property
    def is_connected(self) -> bool:
        """Whether :meth:`connect` succeeded and :meth:`close` has not been called."""
        return self._resource is not None

    def connect(self) -> None:
        """Open the resource, apply timeout and terminations, then run model set-up."""
        with self._lock:
            if self._resource is not None:
                return
            manager = self._resource_manager or pyvisa.ResourceManager("@py")
            with self._translated_errors("open"):
                # pyvisa types open_resource as the base class; message-based resources
                # (TCPIP SOCKET/INSTR, ASRL, USB INSTR) open as MessageBasedResource.
                resource = cast(MessageBasedResource, manager.open_resource(self.resource_name))
                resource.timeout = self.timeout_s * 1000.0
                resource.read_termination = self.read_termination
                resource.write_termination = self.write_termination
            self._resource = resource
            try:
                self._after_connect()
            except BaseException:
                logger.info("%s: set-up after connecting failed", self._describe("connected"))
                self._drop_connection()  # no tidy-up commands to an unverified device
                raise
            logger.info("%s", self._describe("connected"))

    def close(self) -> None:
        """Run model tidy-up (e.g. output off), then close the resource (idempotent)."""
        with self._lock:
            if self._resource is None:
                return
            try:
                self._before_close()
            finally:
                self._drop_connection()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, command: str) -> None:
        """Send one command line."""
        with self._lock, self._translated_errors(command):
            self._open_resource().write(command)

    def query(self, command: str) -> str:
        """Send one command line and return its answer line (terminator stripped)."""
        with self._lock, self._translated_errors(command):
            resource = self._open_resource()
            resource.write(command)
            return resource.read().strip()

    def write_checked(self, command: str) -> None:
        """Send a SCPI set command and ``:SYST:ERR?`` on one line; raise if an error is queued.

        One line means one round trip (two separate small sends would wait for a delayed
        TCP acknowledgement).

        Raises
        ------
        DeviceErrorResponse
            With the SCPI error code and text.
        """
        answer = self.query(f"{command};:SYST:ERR?")
        code_text, _, message = answer.partition(",")
        code = self._parse("SYST:ERR?", code_text, int)
        if code != 0:
            logger.info(
                "%s", self._describe(f"error register {code} {message.strip()} after {command!r}")
            )
            raise DeviceErrorResponse(
                code, self._describe(f"{message.strip(chr(34))} after {command!r}")
            )

    def query_float(self, command: str) -> float:
        """Query and parse one number."""
        return self._parse(command, self.query(command), float)

    def query_int(self, command: str) -> int:
        """Query and parse one integer (accepts ``"3"`` and ``"3.0"``)."""
        answer = self.query(command)
        number = self._parse(command, answer, float)
        if not number.is_integer():
            raise ProtocolError(
                self._describe(f"answer {answer!r} to {command!r} is not an integer")
            )
        return int(number)

    def query_floats(self, command: str, count: int) -> tuple[float, ...]:
        """Query and parse ``count`` comma-separated numbers."""
        answer = self.query(command)
        parts = answer.split(",")
        if len(parts) != count:
            raise ProtocolError(
                self._describe(
                    f"answer {answer!r} to {command!r} has {len(parts)} fields, expected {count}"
                )
            )
        return tuple(self._parse(command, part, float) for part in parts)

    def identify(self, prefix: str = "") -> Identity:
        """Query ``*IDN?``, optionally after set commands ``prefix`` on the same line."""
        answer = self.query(f"{prefix}*IDN?")
        try:
            return Identity.parse(answer)
        except ValueError as error:
            raise ProtocolError(self._describe(str(error))) from None

    def _after_connect(self) -> None:
        """Model-specific set-up after opening (override; default: nothing)."""

    def _before_close(self) -> None:
        """Model-specific tidy-up before closing (override; default: nothing)."""

    def _describe(self, problem: str) -> str:
        return f"{self.name} at {self.resource_name}: {problem}"

    def _parse(self, command: str, text: str, kind: Callable[[str], _T]) -> _T:
        try:
            return kind(text.strip())
        except ValueError:
            raise ProtocolError(
                self._describe(f"answer {text!r} to {command!r} is not a {kind.__name__}")
            ) from None

    def _open_resource(self) -> pyvisa.resources.MessageBasedResource:
        if self._resource is None:
            raise DeviceDisconnected(self._describe("not connected (call connect() first)"))
        return self._resource

    def _drop_connection(self) -> None:
        """Close after a timeout or a lost link: a late answer must never be read as the
        answer to a later command, so the caller reconnects instead."""
        resource, self._resource = self._resource, None
        if resource is not None:
            logger.info("%s", self._describe("connection closed"))
            with suppress(VisaIOError, OSError):
                resource.close()

    @contextmanager
    def _translated_errors(self, command: str) -> Iterator[None]:
        try:
            yield
        except VisaIOError as error:
            logger.info(
                "%s", self._describe(f"VISA error during {command!r}: {error.abbreviation}")
            )
            self._drop_connection()
            if error.error_code == constants.StatusCode.error_timeout:
                raise DeviceTimeout(
                    self._describe(
                        f"no answer to {command!r} within {self.timeout_s:g} s "
                        "(connection closed; reconnect to continue)"
                    )
                ) from error
            if error.error_code in _DISCONNECT_CODES:
                raise DeviceDisconnected(
                    self._describe(f"connection lost during {command!r} ({error.abbreviation})")
                ) from error
            raise ProtocolError(
                self._describe(f"VISA error during {command!r}: {error.description}")
            ) from error
        except UnicodeDecodeError as error:
            logger.info("%s", self._describe(f"undecodable answer to {command!r}"))
            raise ProtocolError(self._describe(f"undecodable answer to {command!r}")) from error
        except OSError as error:
            logger.info("%s", self._describe(f"link lost during {command!r} ({error})"))
            self._drop_connection()
            raise DeviceDisconnected(
                self._describe(f"connection lost during {command!r} ({error})")
            ) from error
