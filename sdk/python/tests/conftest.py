"""Puts the SDK source on sys.path when it is not installed."""

import importlib.util
import os
import sys

if importlib.util.find_spec("spangate_plugin") is None:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
