"""The SDK inside a real component: builds tests/fixtures/faulty with
scripts/build-python-plugin.sh and runs it in wasmtime-py. Slow (a build ~20 s, a
first compile ~20 s), so opt-in: SPANGATE_PYTHON_WASM_TESTS=1."""

import os
import subprocess
from pathlib import Path

import pytest

from spangate_plugin import LogLevel, PluginError
from spangate_plugin.testing import TestSpan

pytestmark = pytest.mark.skipif(
    os.environ.get("SPANGATE_PYTHON_WASM_TESTS") != "1",
    reason="set SPANGATE_PYTHON_WASM_TESTS=1 to build and run a component",
)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> str:
    pytest.importorskip("wasmtime")
    out = tmp_path_factory.mktemp("wasm") / "faulty.wasm"
    subprocess.run(
        [str(ROOT / "scripts" / "build-python-plugin.sh"), str(Path(__file__).parent / "fixtures" / "faulty"), str(out)],
        check=True,
    )
    return str(out)


def test_a_component_logs_exceptions_and_fails_the_call(faulty: str) -> None:
    from spangate_plugin.testing.wasm import ComponentProcessor

    with pytest.raises(PluginError, match="^init: RuntimeError: init exploded$"):
        ComponentProcessor(faulty, '{"fail_init": true}')
    with pytest.raises(PluginError, match="^fail_init: invalid type: integer `1`, expected a boolean$"):
        ComponentProcessor(faulty, '{"fail_init": 1}')

    plugin = ComponentProcessor(faulty, "")
    assert plugin.needs.name == "faulty"
    assert [s.name for s in plugin.process([TestSpan(1, 1).named("x")])] == ["seen"]

    with pytest.raises(PluginError, match="^process: ValueError: boom$"):
        plugin.process([TestSpan(1, 1).named("raise")])
    ((level, message),) = plugin.logs
    assert level is LogLevel.ERROR
    assert message.startswith("process raised an exception:\nTraceback (most recent call last):")
    assert message.endswith("ValueError: boom")
    plugin.logs.clear()

    with pytest.raises(PluginError, match="^refused on purpose$"):
        plugin.process([TestSpan(1, 1).named("plugin-error")])
    assert plugin.logs == []

    # Undeclared fields read as defaults inside the component (strict only natively).
    assert [s.name for s in plugin.process([TestSpan(1, 1).named("undeclared")])] == ["seen"]

    # The instance survives failures; the host clock reaches the guest.
    plugin.now_unix_nanos = 123
    assert [s.name for s in plugin.process([TestSpan(1, 1).named("log")])] == ["seen"]
    assert plugin.logs == [(LogLevel.INFO, "now=123")]
