"""{{name}}: a Spangate processor, made by `spangate plugin new --lang python`.

Every span gets the attribute ``plugin.hello = "world"``; spans named exactly like the
config key ``drop_name`` are dropped.
"""

from dataclasses import dataclass

import spangate_plugin as sp
from spangate_plugin import AttributeSelection, Edits, Needs, SpanBatch, SpanFields, parse_config


@dataclass
class Config:
    """The ``config:`` of the plugin's pipeline entry; every key is optional and an
    unknown key refuses the config, naming it."""

    drop_name: str = ""
    """Spans with exactly this name are dropped ("" drops nothing)."""


class Plugin(sp.Processor):
    def __init__(self, config: str) -> None:
        self.config = parse_config(config, Config)  # ConfigError names the bad key

    def needs(self) -> Needs:
        # What the plugin reads: span names, and the one attribute it adds (adding an
        # attribute needs a span-attribute selection). The gateway sends nothing else.
        return Needs(
            "{{name}}",
            "0.1.0",
            fields=SpanFields.NAME,
            span_attributes=AttributeSelection.keys(["plugin.hello"]),
        )

    def process(self, batch: SpanBatch, edits: Edits) -> None:
        drop_name = self.config.drop_name
        for span in batch:
            if drop_name and span.name == drop_name:
                edits.drop_span(span.index)
                continue
            edits.add_span_attribute(span.index, "plugin.hello", "world")


# The registration: componentize-py calls this class for the `processor` export.
Processor = sp.export_processor(Plugin)
