"""Exceptions a plugin raises on purpose."""

from __future__ import annotations


class PluginError(Exception):
    """An expected failure: the call returns ``err(message)`` to the host, with this
    message and no traceback logged (an ``init`` failure refuses the plugin and stops
    start-up with it). Any other exception is a bug: its traceback goes to the host's
    log at error level, then the call fails the same way."""


class ConfigError(PluginError):
    """A config the plugin refuses; the message names the offending key, e.g.
    ``slow_ms: invalid type: string "x", expected an integer``."""
