"""The built component must answer exactly as the plugin class does natively.

Runs only when REFERENCE_WASM names a built component (see README.md) and wasmtime-py
is installed (the toolchain venv has it); the first run compiles the component
(~10-20 s), later runs load the cached artifact."""

import os

import pytest

from app import Reference
from spangate_plugin import ConfigError, Json, PluginError, StatusCode
from spangate_plugin.testing import ProcessorHarness, TestSpan

WASM = os.environ.get("REFERENCE_WASM", "")
pytest.importorskip("wasmtime", reason="wasmtime-py is not installed")
pytestmark = pytest.mark.skipif(
    not WASM, reason="set REFERENCE_WASM to a built reference component"
)

MS = 1_000_000
T0 = 1_764_000_000_000_000_000

SPANS = [
    TestSpan(1, 1).named("GET /healthz").service("shop").times(T0, T0 + 2 * MS),
    TestSpan(1, 2)
    .named("checkout")
    .service("shop")
    .times(T0, T0 + 1500 * MS)
    .with_status(StatusCode.ERROR)
    .attr("user.email", "ada@example.com")
    .attr("http.route", "/checkout"),
    TestSpan(2, 3)
    .named("list")
    .times(T0, T0 + 5 * MS)
    .with_status(StatusCode.ERROR)
    .attr("user.email", 7)
    .attr("card", "日本 🙂"),
    TestSpan(2, 4).named("backwards").service("db").times(T0, T0 - MS).attr("card", Json("[1]")),
    TestSpan(2, 5).named("").times(T0, T0 + 999_999_999),
]

CONFIGS = [
    "",
    '{"mask_keys": ["user.email", "card"], "slow_ms": 1000, "drop_name": "GET /healthz"}',
    '{"slow_ms": 0, "drop_name": "list"}',
    '{"mask_keys": ["card"], "slow_ms": 5}',
]


@pytest.fixture(scope="module")
def component_class():
    from spangate_plugin.testing.wasm import ComponentProcessor

    return ComponentProcessor


@pytest.mark.parametrize("config", CONFIGS)
def test_the_component_answers_as_the_native_plugin(component_class, config: str) -> None:
    native = ProcessorHarness(Reference, config)
    component = component_class(WASM, config)
    assert component.needs == native.needs
    edits = native.edits(SPANS)
    assert component.edits(SPANS) == (edits.records, edits.strings)
    assert component.process(SPANS) == native.process(SPANS)
    assert component.edits([]) == (b"", b"")
    assert component.logs == []


def test_a_bad_config_is_refused_with_the_same_message(component_class) -> None:
    config = '{"slow_ms": "soon"}'
    with pytest.raises(ConfigError) as native:
        ProcessorHarness(Reference, config)
    with pytest.raises(PluginError) as component:
        component_class(WASM, config)
    assert str(component.value) == str(native.value)
