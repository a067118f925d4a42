"""Device-side machinery shared by the simulated bench instruments.

:class:`DeviceSim` is what the TCP server talks to: it takes one received line, records it in
``command_log``, splits it at ``;`` and answers the queries (a query's answer may be ``bytes``
for a binary transfer, sent as is). :class:`ScpiDeviceSim` is a SCPI-1999 instrument:

- headers are matched against command patterns written as in the manuals,
  ``"[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]"``: short or long form of each node,
  any case, optional nodes in brackets, ``#`` for an optional numeric suffix (``SENSe#``
  accepts ``SENS`` and ``SENS1``); a command without a leading ``:`` after another on the same
  line continues from that command's path (as SCPI says), and is tried from the root when that
  finds nothing;
- the IEEE 488.2 common commands (``*IDN?``, ``*RST``, ``*CLS``, ``*ESR?``, ``*ESE``, ``*SRE``,
  ``*STB?``, ``*OPC``, ``*OPC?``, ``*WAI``, ``*TST?``, ``*OPT?``) and the status byte built
  from the event registers;
- an error queue of ``ERROR_QUEUE_LENGTH`` entries (``SYST:ERR[:NEXT]?`` oldest first,
  ``SYST:ERR:COUN?``, ``SYST:ERR:ALL?``), whose last entry becomes ``-350,"Queue overflow"``
  when it is full; an error of class -100 sets the CMD bit of ``*ESR?``, -200 EXE, -300 DDE,
  -400 QYE, as SCPI prescribes;
- :class:`Setting`: one declarative line per instrument setting (pattern, kind of value,
  default); sets are validated (a value out of range is refused with -222 and not applied) and
  queries answer in the instrument's format, ``MIN``/``MAX``/``DEF`` included.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from drivers.sim.bench import OpticalBench

ESR_OPERATION_COMPLETE = 1 << 0
ESR_QUERY_ERROR = 1 << 2
ESR_DEVICE_ERROR = 1 << 3
ESR_EXECUTION_ERROR = 1 << 4
ESR_COMMAND_ERROR = 1 << 5
STB_MESSAGE_AVAILABLE = 1 << 4
STB_EVENT_SUMMARY = 1 << 5
STB_REQUEST_SERVICE = 1 << 6
STB_ERROR_QUEUE = 1 << 2
ERROR_QUEUE_LENGTH = 10
SCPI_NOT_A_NUMBER = 9.91e37
SCPI_OVERFLOW = 9.9e37

Answer = str | bytes | None


class ScpiError(Exception):
    """A command the device refuses, with its SCPI error code and text.

    Parameters
    ----------
    code : int
        SCPI error code, e.g. -222 (the class, -100/-200/-300/-400, decides the ESR bit).
    message : str
        SCPI error text.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def event_bit(self) -> int:
        """The standard-event bit this error sets (CMD, EXE, DDE or QYE)."""
        if -199 <= self.code <= -100:
            return ESR_COMMAND_ERROR
        if -299 <= self.code <= -200:
            return ESR_EXECUTION_ERROR
        if -499 <= self.code <= -400:
            return ESR_QUERY_ERROR
        return ESR_DEVICE_ERROR


class CommandError(ScpiError):
    """The device does not know this command (-113, sets the CMD bit)."""

    def __init__(self, command: str = "", code: int = -113, message: str = "Undefined header"):
        super().__init__(code, message)
        self.command = command

    @property
    def event_bit(self) -> int:
        return ESR_COMMAND_ERROR


class ExecutionError(ScpiError):
    """A known command with a bad or out-of-range parameter (sets the EXE bit)."""

    @property
    def event_bit(self) -> int:
        return ESR_EXECUTION_ERROR


def out_of_range() -> ExecutionError:
    """SCPI -222 ``Data out of range``."""
    return ExecutionError(-222, "Data out of range")


def illegal_value() -> ExecutionError:
    """SCPI -224 ``Illegal parameter value``."""
    return ExecutionError(-224, "Illegal parameter value")


class DeviceSim:
    """Device side of one ASCII instrument; thread-safe; records every received line.

    Parameters
    ----------
    bench : OpticalBench
        The shared physics scene.
    idn : str
        Answer to ``*IDN?``.
    clock : callable
        Monotonic clock, s.
    """

    def __init__(
        self, bench: OpticalBench, idn: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bench = bench
        self.idn = idn
        self.clock = clock
        self.lock = threading.RLock()
        self.command_log: list[str] = []
        self.event_status = 0

    def handle_line(self, line: str) -> Answer:
        """Execute one received line; return the answer (``;``-joined), or None."""
        with self.lock:
            self.command_log.append(line)
            self.start_line()
            answers: list[str] = []
            for command in split_commands(line):
                try:
                    answer = self.handle_command(command)
                except ScpiError as error:
                    self.event_status |= error.event_bit
                    self.record_error(error)
                    continue
                if isinstance(answer, bytes):
                    return b"".join(a.encode("ascii") + b";" for a in answers) + answer
                if answer is not None:
                    answers.append(answer)
            return ";".join(answers) if answers else None

    def start_line(self) -> None:
        """Called before the commands of a new line run (override)."""

    def handle_command(self, command: str) -> Answer:
        """Execute one command (override)."""
        raise NotImplementedError

    def record_error(self, error: ScpiError) -> None:
        """Keep an error for an error query (default: only the ESR bit)."""

    def read_event_status(self) -> str:
        """Answer ``*ESR?`` and clear the register."""
        status, self.event_status = self.event_status, 0
        return str(status)


def split_commands(line: str) -> list[str]:
    """The commands of one line: split at ``;`` outside quotes, blanks dropped."""
    commands: list[str] = []
    current: list[str] = []
    quote = ""
    for char in line:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ";":
            commands.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    commands.append("".join(current).strip())
    return [command for command in commands if command]


def split_parameters(text: str | None) -> list[str]:
    """Comma-separated parameters of a command, blanks around each stripped."""
    if text is None or not text.strip():
        return []
    return [part.strip() for part in text.split(",")]


# --- SCPI headers ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    short: str
    long: str
    optional: bool
    suffix: bool


_PATTERN_NODE = re.compile(r"(\[)?:?([A-Za-z*][A-Za-z0-9]*)(#)?\]?")


def compile_pattern(pattern: str) -> tuple[_Node, ...]:
    """Nodes of a manual-style header pattern such as ``"[:SENSe#]:CURRent[:DC]:NPLCycles"``."""
    nodes = []
    for match in _PATTERN_NODE.finditer(pattern.rstrip("?")):
        optional, word, suffix = match.groups()
        short = "".join(char for char in word if char.isupper() or char.isdigit() or char == "*")
        nodes.append(_Node(short, word.upper(), optional is not None, suffix is not None))
    return tuple(nodes)


def _node_matches(received: str, node: _Node) -> bool:
    if received in (node.short, node.long):
        return True
    if node.suffix:
        stem = received.rstrip("0123456789")
        return stem in (node.short, node.long) and received[len(stem) :] in ("", "1")
    return False


def header_matches(received: Sequence[str], nodes: Sequence[_Node]) -> bool:
    """Whether the received header nodes (upper case) spell the pattern ``nodes``."""
    if not nodes:
        return not received
    first, rest = nodes[0], nodes[1:]
    if received and _node_matches(received[0], first) and header_matches(received[1:], rest):
        return True
    return first.optional and header_matches(received, rest)


def token_matches(text: str, pattern: str) -> bool:
    """Whether a parameter token (any case) is the short or long form of ``pattern``
    (e.g. ``"VOLT"`` and ``"voltage"`` both match ``"VOLTage"``)."""
    node = compile_pattern(pattern)[0]
    return _node_matches(text.strip().upper(), node)


# --- values --------------------------------------------------------------------------------


class ValueKind:
    """How one setting's parameter is parsed and its value formatted."""

    def parse(self, text: str | None, current: object) -> object:
        """The value of a set command's parameter text; ScpiError if not allowed."""
        raise NotImplementedError

    def format(self, value: object) -> str:
        """The instrument's answer for ``value``."""
        raise NotImplementedError

    def query(self, text: str | None, value: object) -> str:
        """Answer a query with optional parameter (``MIN``/``MAX``/``DEF`` for numbers)."""
        if text:
            raise ScpiError(-108, "Parameter not allowed")
        return self.format(value)


def parse_number(text: str | None) -> float:
    """A finite numeric parameter; -109 if missing, -104 if not a number."""
    if text is None or not text.strip():
        raise ScpiError(-109, "Missing parameter")
    try:
        value = float(text)
    except ValueError:
        raise ScpiError(-104, "Data type error") from None
    if not math.isfinite(value):
        raise illegal_value()
    return value


@dataclass(frozen=True)
class Number(ValueKind):
    """A number in ``[low, high]`` (``integer``: whole numbers only); ``MIN``, ``MAX`` and
    ``DEF`` select the limits and the default."""

    low: float
    high: float
    default: float
    integer: bool = False
    fmt: str = "{:+.6E}"

    def _limits(self, token: str) -> float | None:
        return {"MIN": self.low, "MINIMUM": self.low, "MAX": self.high, "MAXIMUM": self.high}.get(
            token, self.default if token in ("DEF", "DEFAULT") else None
        )

    def parse(self, text: str | None, current: object) -> object:
        limit = self._limits((text or "").strip().upper())
        value = limit if limit is not None else parse_number(text)
        if not self.low <= value <= self.high:
            raise out_of_range()
        if self.integer:
            if not float(value).is_integer():
                raise illegal_value()
            return int(value)
        return float(value)

    def format(self, value: object) -> str:
        return str(value) if self.integer else self.fmt.format(value)

    def query(self, text: str | None, value: object) -> str:
        if text:
            limit = self._limits(text.strip().upper())
            if limit is None:
                raise illegal_value()
            return self.format(int(limit) if self.integer else limit)
        return self.format(value)


@dataclass(frozen=True)
class Choice(ValueKind):
    """One of a set of tokens written as in the manual (``"VOLTage"``); answers the short form.
    ``aliases`` maps more accepted tokens (e.g. ``"1"``) to the short form they stand for."""

    tokens: tuple[str, ...]
    aliases: dict[str, str] = field(default_factory=dict)

    def parse(self, text: str | None, current: object) -> object:
        if text is None or not text.strip():
            raise ScpiError(-109, "Missing parameter")
        cleaned = text.strip().strip("'\"")
        if cleaned.upper() in self.aliases:
            return self.aliases[cleaned.upper()]
        for token in self.tokens:
            if token_matches(cleaned, token):
                return compile_pattern(token)[0].short
        raise illegal_value()

    def format(self, value: object) -> str:
        return str(value)


@dataclass(frozen=True)
class Boolean(ValueKind):
    """``ON``/``OFF``/``1``/``0``; answers ``1`` or ``0``."""

    def parse(self, text: str | None, current: object) -> object:
        token = (text or "").strip().upper()
        if not token:
            raise ScpiError(-109, "Missing parameter")
        if token in ("ON", "1"):
            return True
        if token in ("OFF", "0"):
            return False
        raise illegal_value()

    def format(self, value: object) -> str:
        return "1" if value else "0"


def parse_bool(text: str | None) -> bool:
    """Parse ``ON``/``OFF``/``1``/``0``."""
    return bool(Boolean().parse(text, None))


@dataclass(frozen=True)
class Setting:
    """One instrument setting: header pattern, kind of value, default, and whether it can only
    be read. ``name`` keys the value in :attr:`ScpiDeviceSim.state`."""

    name: str
    pattern: str
    kind: ValueKind
    default: object
    read_only: bool = False


ScpiHandler = Callable[[str | None], Answer]


class ScpiDeviceSim(DeviceSim):
    """A SCPI instrument: common commands, status, error queue, settings, handlers.

    Subclasses call :meth:`add_settings` and :meth:`add` (pattern, handler); a pattern ending
    in ``?`` is a query. :attr:`state` holds every setting's present value by name;
    :meth:`on_change` is told of each applied set.
    """

    def __init__(
        self, bench: OpticalBench, idn: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(bench, idn, clock)
        self.errors: deque[tuple[int, str]] = deque()
        self.state: dict[str, object] = {}
        self.settings: dict[str, Setting] = {}
        self.event_enable = 0
        self.service_request_enable = 0
        self._commands: list[tuple[tuple[_Node, ...], bool, ScpiHandler]] = []
        self._path: list[str] = []
        self.add("*IDN?", lambda _: self.idn)
        self.add("*RST", lambda _: self.reset())
        self.add("*CLS", lambda _: self.clear_status())
        self.add("*ESR?", lambda _: self.read_event_status())
        self.add("*ESE", lambda text: self._set_register("event_enable", text))
        self.add("*ESE?", lambda _: str(self.event_enable))
        self.add("*SRE", lambda text: self._set_register("service_request_enable", text))
        self.add("*SRE?", lambda _: str(self.service_request_enable))
        self.add("*STB?", lambda _: str(self.status_byte()))
        self.add("*OPC", lambda _: self._operation_complete())
        self.add("*OPC?", lambda _: "1")
        self.add("*WAI", lambda _: None)
        self.add("*TST?", lambda _: "0")
        self.add("*OPT?", lambda _: "0")
        self.add(":SYSTem:ERRor[:NEXT]?", lambda _: self.next_error())
        self.add(":SYSTem:ERRor:COUNt?", lambda _: str(len(self.errors)))
        self.add(":SYSTem:ERRor:ALL?", lambda _: self._all_errors())
        self.add(":SYSTem:VERSion?", lambda _: "1999.0")

    def add(self, pattern: str, handler: ScpiHandler) -> None:
        """Answer commands matching ``pattern`` (a query if it ends in ``?``) with ``handler``,
        a function of the parameter text (None when there is none)."""
        self._commands.append((compile_pattern(pattern), pattern.endswith("?"), handler))

    def add_settings(self, settings: Sequence[Setting]) -> None:
        """Add a set command and a query for each setting (a query only if read-only)."""
        for setting in settings:
            self.settings[setting.name] = setting
            self.state[setting.name] = setting.default
            self.add(setting.pattern + "?", self._query_setting(setting))
            if not setting.read_only:
                self.add(setting.pattern, self._set_setting(setting))

    def _query_setting(self, setting: Setting) -> ScpiHandler:
        return lambda text: setting.kind.query(text, self.state[setting.name])

    def _set_setting(self, setting: Setting) -> ScpiHandler:
        def apply(text: str | None) -> None:
            value = setting.kind.parse(text, self.state[setting.name])
            self.state[setting.name] = self.accept_setting(setting.name, value)
            self.on_change(setting.name, self.state[setting.name])

        return apply

    def accept_setting(self, name: str, value: object) -> object:
        """The value to store for a set of ``name`` (override to round to what the instrument
        selects, or raise ScpiError to refuse a set that conflicts with other settings)."""
        return value

    def on_change(self, name: str, value: object) -> None:
        """A setting was applied (override to act on it)."""

    def reset(self) -> None:
        """``*RST``: every setting back to its default (subclasses apply what follows)."""
        for name, setting in self.settings.items():
            self.state[name] = setting.default

    def start_line(self) -> None:
        self._path = []

    def handle_command(self, command: str) -> Answer:
        header, _, parameter = command.partition(" ")
        header = header.strip()
        query = header.endswith("?")
        if header.startswith("*"):
            return self._dispatch([header.rstrip("?").upper()], query, parameter, command)
        received = header.rstrip("?").upper().split(":")
        absolute = received[0] == ""
        received = [node for node in received if node]
        if not absolute and self._path:
            try:
                answer = self._dispatch(self._path + received, query, parameter, command)
            except CommandError:
                pass
            else:
                self._path = (self._path + received)[:-1]
                return answer
        answer = self._dispatch(received, query, parameter, command)
        self._path = received[:-1]
        return answer

    def _dispatch(self, received: list[str], query: bool, parameter: str, command: str) -> Answer:
        for nodes, is_query, handler in self._commands:
            if is_query == query and header_matches(received, nodes):
                return handler(parameter.strip() or None)
        raise CommandError(command)

    def record_error(self, error: ScpiError) -> None:
        if len(self.errors) >= ERROR_QUEUE_LENGTH:
            self.errors[-1] = (-350, "Queue overflow")
            return
        self.errors.append((error.code, error.message))

    def next_error(self) -> str:
        """Answer ``SYST:ERR?``: the oldest queued error, or ``0,"No error"``."""
        code, message = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code:+d},"{message}"' if code else '0,"No error"'

    def _all_errors(self) -> str:
        answers = [self.next_error() for _ in range(len(self.errors))]
        return ",".join(answers) if answers else '0,"No error"'

    def clear_status(self) -> None:
        """``*CLS``: clear the event registers and the error queue."""
        self.event_status = 0
        self.errors.clear()

    def status_byte(self) -> int:
        """The IEEE 488.2 status byte: error queue, event summary, request service
        (subclasses add their summary bits with :meth:`summary_bits`)."""
        status = self.summary_bits()
        if self.errors:
            status |= STB_ERROR_QUEUE
        if self.event_status & self.event_enable:
            status |= STB_EVENT_SUMMARY
        if status & self.service_request_enable & ~STB_REQUEST_SERVICE:
            status |= STB_REQUEST_SERVICE
        return status

    def summary_bits(self) -> int:
        """Instrument-specific status-byte bits (override)."""
        return 0

    def _set_register(self, attribute: str, text: str | None) -> None:
        value = Number(0, 255, 0, integer=True).parse(text, None)
        setattr(self, attribute, value)

    def _operation_complete(self) -> None:
        self.event_status |= ESR_OPERATION_COMPLETE
