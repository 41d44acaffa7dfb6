"""Makes `app` and the SDK importable for pytest: this directory is on sys.path (pytest
puts a rootdir conftest's directory there), and the SDK is taken from
`$SPANGATE/sdk/python/src` when `spangate_plugin` is not installed or on PYTHONPATH (in
the Spangate repository, from `../../sdk/python/src`)."""

import importlib.util
import os
import sys

if importlib.util.find_spec("spangate_plugin") is None:
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = []
    if os.environ.get("SPANGATE"):
        candidates.append(os.path.join(os.environ["SPANGATE"], "sdk", "python", "src"))
    candidates.append(os.path.join(here, "..", "..", "sdk", "python", "src"))
    for candidate in candidates:
        if os.path.isdir(os.path.join(candidate, "spangate_plugin")):
            sys.path.insert(0, os.path.abspath(candidate))
            break
