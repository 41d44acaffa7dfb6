"""Runs the reference component under wasmtime (PyPI `wasmtime`, whose component API
matches the gateway's host) on the batches of wasm_parity_cases.c and checks that it
answers byte for byte what the same C code answers natively; also that init errors are
the same and that many batches in a row neither trap nor fail.

    python wasm_parity.py <component.wasm> < cases.tsv
"""
import sys

import wasmtime
import wasmtime.component as wc


def unhex(field):
    return b"" if field == "-" else bytes.fromhex(field)


def main():
    engine = wasmtime.Engine()
    component = wc.Component.from_file(engine, sys.argv[1])
    linker = wc.Linker(engine)
    # As the gateway does: WASI is linked (with nothing granted) for components that import it.
    linker.add_wasip2()
    logs = []
    with linker.root() as root:
        with root.add_instance("spangate:plugin/host@0.2.0") as host:
            host.add_func("log", lambda store, level, message: logs.append((level, message)))
            host.add_func("now-unix-nanos", lambda store: 1_700_000_000_000_000_000)

    passed = failed = 0
    for line in sys.stdin:
        name, config, init_error, length, columns, strings, records, edit_strings = line.rstrip("\n").split("\t")
        config = unhex(config).decode()
        init_error = unhex(init_error).decode()
        store = wasmtime.Store(engine)
        store.set_wasi(wasmtime.WasiConfig())
        instance = linker.instantiate(store, component)
        interface = instance.get_export_index(store, "spangate:plugin/processor@0.2.0")
        init = instance.get_func(store, instance.get_export_index(store, "init", interface))
        process = instance.get_func(store, instance.get_export_index(store, "process", interface))
        problems = []
        needs = init(store, config)
        init.post_return(store)
        if init_error:
            if needs != init_error:
                problems.append(f"init answered {needs!r}, natively {init_error!r}")
        elif isinstance(needs, str):
            problems.append(f"init refused: {needs}")
        else:
            if (needs.name, needs.version) != ("reference", "1.0.0"):
                problems.append(f"needs {needs.name} {needs.version}")
            batch = wc.Record()
            batch.len = int(length)
            batch.columns = unhex(columns)
            batch.strings = unhex(strings)
            # The same batch many times: the glue frees what it is given and returns.
            for call in range(200):
                edits = process(store, batch)
                process.post_return(store)
                if isinstance(edits, str):
                    problems.append(f"process failed: {edits}")
                    break
                if bytes(edits.records) != unhex(records) or bytes(edits.strings) != unhex(edit_strings):
                    problems.append(
                        f"call {call}: edits differ:\n  wasm   {bytes(edits.records).hex()} {bytes(edits.strings)!r}\n"
                        f"  native {records} {unhex(edit_strings)!r}"
                    )
                    break
        if problems:
            failed += 1
            print(f"FAILED {name}: " + "; ".join(problems))
        else:
            passed += 1
            print(f"ok {name}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
