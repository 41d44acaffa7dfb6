"""What the host gives a plugin: its log and its clock (nothing else: no files,
network or environment).

In a component these call the WIT ``host`` imports. Natively (tests) ``log`` appends to
a buffer read with :func:`spangate_plugin.testing.take_logs`, and ``now_unix_nanos``
is the system clock unless pinned with :func:`spangate_plugin.testing.set_now`.
The gateway keeps at most 32 log lines per call and 4 KiB per line.
"""

from __future__ import annotations

import enum
import sys
import time
from typing import Any, List, Optional, Tuple

IN_WASM = sys.platform == "wasi"
"""True inside a component (componentize-py's CPython reports ``wasi``)."""


class LogLevel(enum.IntEnum):
    """The WIT ``log-level`` cases."""

    TRACE = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4


_wit_host: Any = None
_wit_levels: Tuple[Any, ...] = ()
if IN_WASM:  # pragma: no cover - only inside a component
    # Imported now, at build time (componentize-py snapshots the interpreter after
    # importing the app): a component cannot import modules later, it has no files.
    from wit_world.imports import host as _wit_host  # type: ignore[import-not-found,no-redef]
    from wit_world.imports import types as _wit_types  # type: ignore[import-not-found]

    _wit_levels = tuple(_wit_types.LogLevel)

_native_logs: List[Tuple[LogLevel, str]] = []
_native_now: Optional[int] = None


def log(level: LogLevel, message: str) -> None:
    """Writes ``message`` to the gateway's log at ``level``, tagged with the plugin's
    name."""
    if _wit_host is not None:
        _wit_host.log(_wit_levels[int(level)], message)
    else:
        _native_logs.append((LogLevel(level), message))


def trace(message: str) -> None:
    log(LogLevel.TRACE, message)


def debug(message: str) -> None:
    log(LogLevel.DEBUG, message)


def info(message: str) -> None:
    log(LogLevel.INFO, message)


def warn(message: str) -> None:
    log(LogLevel.WARN, message)


def error(message: str) -> None:
    log(LogLevel.ERROR, message)


def now_unix_nanos() -> int:
    """The gateway's wall clock, in Unix nanoseconds."""
    if _wit_host is not None:
        return int(_wit_host.now_unix_nanos())
    if _native_now is not None:
        return _native_now
    return time.time_ns()
