"""Exceptions raised by device drivers.

Every error names the device and what went wrong, so that the CLI and GUI can show it to a
person as one line.
"""


class DeviceError(Exception):
    """Base class of every error a device driver raises."""


class DeviceTimeout(DeviceError):
    """A device did not answer within its timeout."""


class DeviceDisconnected(DeviceError):
    """A device vanished (unplugged, port closed, connection reset)."""


class ProtocolError(DeviceError):
    """A device answered with bytes that do not follow its protocol."""


class DeviceErrorResponse(DeviceError):
    """A device answered a command with a coded error response.

    Parameters
    ----------
    code : int
        The device's error code.
    message : str
        Human-readable description of the code.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"device error {code}: {message}")
        self.code = code
        self.message = message
