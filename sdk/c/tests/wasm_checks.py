"""Checks the C SDK's wasm glue under wasmtime (PyPI `wasmtime`): a panic or a failed
assert() reaches host.log at error level with its message before the call traps; err
results carry the plugin's message; host log and clock calls work.

    python wasm_checks.py <panic-plugin.wasm> <sampler-plugin.wasm>

The sampler (tests/sampler-plugin) checks the sampler glue: tail settings, one verdict
per span (head) and per trace in order of first appearance (tail), policies.
"""
import sys

import wasmtime
import wasmtime.component as wc

ERROR = 4  # log-level index
WARN = 3


def main():
    engine = wasmtime.Engine()
    component = wc.Component.from_file(engine, sys.argv[1])
    linker = wc.Linker(engine)
    logs = []

    def log(store, level, message):
        # enums arrive as their case name in wasmtime-py
        logs.append((level, message))

    with linker.root() as root:
        with root.add_instance("spangate:plugin/host@0.2.0") as host:
            host.add_func("log", log)
            host.add_func("now-unix-nanos", lambda store: 1234)

    def fresh():
        store = wasmtime.Store(engine)
        instance = linker.instantiate(store, component)
        interface = instance.get_export_index(store, "spangate:plugin/processor@0.2.0")
        funcs = {n: instance.get_func(store, instance.get_export_index(store, n, interface)) for n in ("init", "process")}
        return store, funcs

    def call(store, func, *args):
        try:
            result = func(store, *args)
        except wasmtime.WasmtimeError as trap:
            return ("trap", str(trap))
        func.post_return(store)
        return ("ok", result)

    passed = failed = 0

    def check(name, condition, detail):
        nonlocal passed, failed
        if condition:
            passed += 1
            print(f"ok {name}")
        else:
            failed += 1
            print(f"FAILED {name}: {detail}")

    def batch(spans):
        # A directory with a name column of `spans` empty names.
        columns = bytearray(36 * 8)
        columns[4 * 8:4 * 8 + 4] = (36 * 8).to_bytes(4, "little")
        columns[4 * 8 + 4:4 * 8 + 8] = spans.to_bytes(4, "little")
        columns += bytes(8 * spans)
        record = wc.Record()
        record.len, record.columns, record.strings = spans, bytes(columns), b""
        return record

    for config, expected in [("panic", "plugin panicked: init exploded with config panic"),
                             ("assert", "plugin panicked: assertion failed: !sg_str_eq_cstr(config, \"assert\")"),
                             ("abort", "plugin panicked: abort() called")]:
        logs.clear()
        store, f = fresh()
        outcome, _ = call(store, f["init"], config)
        check(f"init {config} traps", outcome == "trap", outcome)
        check(f"init {config} logs the message at error level",
              any(level in (ERROR, "error") and message.startswith(expected) for level, message in logs), logs)

    store, f = fresh()
    outcome, result = call(store, f["init"], "error")
    check("init error is an err result with the message", (outcome, result) == ("ok", "refused: 7"), (outcome, result))

    store, f = fresh()
    outcome, result = call(store, f["process"], batch(1))
    check("process before init fails", result == "not initialised", (outcome, result))
    outcome, needs = call(store, f["init"], "")
    check("init succeeds", outcome == "ok" and needs.name == "panic", (outcome, needs))
    logs.clear()
    outcome, edits = call(store, f["process"], batch(1))
    check("process logs through the host with its clock",
          outcome == "ok" and any(message == "now 1234" for _, message in logs), (outcome, logs))
    check("process returns its edits", bytes(edits.strings) == b"renamed" and len(bytes(edits.records)) == 24, edits)
    outcome, result = call(store, f["process"], batch(2))
    check("a process error is an err result", (outcome, result) == ("ok", "two spans are too many"), (outcome, result))
    logs.clear()
    outcome, _ = call(store, f["process"], batch(3))
    check("a process panic traps", outcome == "trap", outcome)
    check("a process panic is logged at error level first",
          any(level in (ERROR, "error") and message == "plugin panicked: process exploded on 3 spans" for level, message in logs),
          logs)
    # The sampler glue.
    sampler = wc.Component.from_file(engine, sys.argv[2])
    store = wasmtime.Store(engine)
    instance = linker.instantiate(store, sampler)
    interface = instance.get_export_index(store, "spangate:plugin/sampler@0.2.0")
    funcs = {n: instance.get_func(store, instance.get_export_index(store, n, interface))
             for n in ("init", "sample-head", "sample-tail")}
    outcome, needs = call(store, funcs["init"], "")
    tail = getattr(needs, "tail", None)
    check("a sampler's init returns its needs and tail settings",
          outcome == "ok" and needs.needs.name == "keep-errors" and tail is not None
          and getattr(tail, "decision-wait-millis") == 2000 and getattr(tail, "max-traces") == 1000, (outcome, vars(needs) if outcome == "ok" else needs))

    def sampler_batch(traces, statuses):
        spans = len(statuses)
        columns = bytearray(36 * 8)
        body = bytearray()
        def column(index, data):
            nonlocal body
            offset = 36 * 8 + len(body)
            columns[index * 8:index * 8 + 4] = offset.to_bytes(4, "little")
            columns[index * 8 + 4:index * 8 + 8] = spans.to_bytes(4, "little")
            body += data
            body += bytes(-len(body) % 8)
        column(0, b"".join(t.to_bytes(16, "big") for t in traces))
        column(6, bytes(statuses))
        record = wc.Record()
        record.len, record.columns, record.strings = spans, bytes(columns + body), b""
        return record

    batch5 = sampler_batch([1, 2, 1, 3, 2], [2, 0, 0, 1, 2])
    outcome, decisions = call(store, funcs["sample-head"], batch5)
    check("head: one verdict per span, policies named",
          outcome == "ok" and list(decisions.verdicts) == [1, 0, 0, 0, 1] and list(decisions.policies) == ["errors"],
          (outcome, decisions if outcome != "ok" else vars(decisions)))
    outcome, decisions = call(store, funcs["sample-tail"], batch5)
    check("tail: one verdict per trace in order of first appearance",
          outcome == "ok" and list(decisions.verdicts) == [1, 0, 0] and list(decisions.policies) == ["error-traces"],
          (outcome, decisions if outcome != "ok" else vars(decisions)))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
