"""Runs a built component natively through wasmtime-py, with the same test spans as
the native harness: a check that the component behaves as the plugin class does
(``pip install wasmtime``; the toolchain venv of ``scripts/toolchain-python.sh`` has
it).

This is a test host, not the gateway: it links the WIT ``host`` interface (log lines
are collected in :attr:`ComponentProcessor.logs`) and WASI with nothing granted, as
the gateway does, but applies answers with the SDK's model of the gateway's checks.
Compiling a Python component takes ~10-20 s; the compiled artifact is cached under
``${SPANGATE_CACHE:-~/.cache/spangate}/python-components/`` keyed by the wasm's
SHA-256 and the wasmtime version (the six most recently used are kept).

::

    plugin = ComponentProcessor("reference.wasm", '{"slow_ms": 5}')
    out = plugin.process([TestSpan(1, 1).named("a").times(0, 6_000_000)])
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import time
import types
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from ..errors import PluginError
from ..host import LogLevel
from ..needs import AttributeSelection, Needs, SpanFields
from .apply import apply_edits
from .encode import encode
from .span import TestSpan

_FIELD_BITS = {
    "trace-id": SpanFields.TRACE_ID,
    "span-id": SpanFields.SPAN_ID,
    "parent-span-id": SpanFields.PARENT_SPAN_ID,
    "service-name": SpanFields.SERVICE_NAME,
    "name": SpanFields.NAME,
    "kind": SpanFields.KIND,
    "times": SpanFields.TIMES,
    "status": SpanFields.STATUS,
    "status-message": SpanFields.STATUS_MESSAGE,
    "size": SpanFields.SIZE,
    "event-names": SpanFields.EVENT_NAMES,
}


_CACHE_KEEP = 6


def _cache_dir() -> Path:
    root = os.environ.get("SPANGATE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "spangate"
    )
    return Path(root) / "python-components"


def _load(engine: Any, path: str) -> Any:
    from wasmtime import component

    data = Path(path).read_bytes()
    try:
        version = importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        version = "unknown"
    key = f"{hashlib.sha256(data).hexdigest()[:32]}-wasmtime-{version}"
    cached = _cache_dir() / f"{key}.cwasm"
    if cached.exists():
        try:
            loaded = component.Component.deserialize_file(engine, str(cached))
            os.utime(cached)
            return loaded
        except Exception:
            cached.unlink(missing_ok=True)
    compiled = component.Component(engine, data)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".tmp{os.getpid()}")
        temporary.write_bytes(compiled.serialize())
        temporary.replace(cached)
        _prune(cached.parent)
    except OSError:
        pass
    return compiled


def _prune(directory: Path) -> None:
    """Keeps the most recently used artifacts only (~30-50 MB each; a rebuilt
    component is a new file, componentize-py's output is not byte-for-byte stable)."""
    artifacts = sorted(directory.glob("*.cwasm"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in artifacts[_CACHE_KEEP:]:
        stale.unlink(missing_ok=True)


def _selection(variant: Any) -> AttributeSelection:
    tag = variant.tag
    if tag == "keys":
        return AttributeSelection.keys(list(variant.payload))
    if tag == "all-strings":
        return AttributeSelection.ALL_STRINGS
    if tag == "all":
        return AttributeSelection.ALL
    return AttributeSelection.NONE


def _needs(record: Any) -> Needs:
    fields = SpanFields.NONE
    for name in getattr(record, "fields"):
        fields |= _FIELD_BITS[name]
    return Needs(
        record.name,
        record.version,
        fields=fields,
        span_attributes=_selection(getattr(record, "span-attributes")),
        resource_attributes=_selection(getattr(record, "resource-attributes")),
        event_attributes=_selection(getattr(record, "event-attributes")),
        link_attributes=_selection(getattr(record, "link-attributes")),
    )


class ComponentProcessor:
    """A processor component, instantiated and initialised with ``config``; an
    ``err`` from ``init`` raises :class:`~spangate_plugin.PluginError` with its
    message."""

    export = "spangate:plugin/processor@0.2.0"

    def __init__(self, wasm_path: str, config: str = "") -> None:
        import wasmtime
        from wasmtime import component

        self.logs: List[Tuple[LogLevel, str]] = []
        self.now_unix_nanos: Optional[int] = None
        engine = wasmtime.Engine()
        started = time.perf_counter()
        compiled = _load(engine, wasm_path)
        self.load_seconds = time.perf_counter() - started
        linker = component.Linker(engine)
        linker.add_wasip2()
        levels = list(LogLevel)
        with linker.root() as root:
            with root.add_instance("spangate:plugin/host@0.2.0") as host:
                host.add_func("log", self._log(levels))
                host.add_func("now-unix-nanos", self._now)
        self._store = wasmtime.Store(engine)
        self._store.set_wasi(wasmtime.WasiConfig())
        started = time.perf_counter()
        instance = linker.instantiate(self._store, compiled)
        self.instantiate_seconds = time.perf_counter() - started
        interface = instance.get_export_index(self._store, self.export)
        if interface is None:
            raise PluginError(f"{wasm_path} does not export {self.export}")
        self._init = self._func(instance, interface, "init")
        self._process = self._func(instance, interface, "process")
        self.needs = _needs(self._call(self._init, config))

    def _func(self, instance: Any, interface: Any, name: str) -> Any:
        index = instance.get_export_index(self._store, name, interface)
        if index is None:
            raise PluginError(f"{self.export} has no function {name}")
        return instance.get_func(self._store, index)

    def _log(self, levels: List[LogLevel]) -> Any:
        def log(_store: Any, level: Any, message: str) -> None:
            name = level if isinstance(level, str) else getattr(level, "tag", str(level))
            self.logs.append((LogLevel[name.upper()], message))

        return log

    def _now(self, _store: Any) -> int:
        return self.now_unix_nanos if self.now_unix_nanos is not None else time.time_ns()

    def _call(self, func: Any, *args: Any) -> Any:
        result = func(self._store, *args)
        func.post_return(self._store)
        if isinstance(result, str):  # wasmtime-py returns an `err(string)` payload as is
            raise PluginError(result)
        return result

    def edits(self, spans: Sequence[TestSpan]) -> Tuple[bytes, bytes]:
        """The component's raw answer for ``spans``: ``(records, strings)``."""
        encoding = encode(spans, self.needs)
        batch = types.SimpleNamespace(
            len=encoding.length, columns=encoding.columns, strings=encoding.strings
        )
        answer = self._call(self._process, batch)
        return bytes(answer.records), bytes(answer.strings)

    def process(self, spans: Sequence[TestSpan]) -> List[TestSpan]:
        """The spans after the component's edits, applied with the gateway's checks."""
        return apply_edits(spans, self.needs, self.edits(spans))
