import enum
from dataclasses import dataclass, field
from typing import Dict, List, Literal, Optional, Tuple, Union

import pytest

from spangate_plugin import ConfigError, NonNegativeInt, PluginError, Range, U32, parse_config
from typing import Annotated


class Mode(enum.Enum):
    FAST = "fast"
    SAFE = "safe"


@dataclass
class Rule:
    prefix: str
    weight: U32 = 1


@dataclass
class Config:
    threshold_ms: NonNegativeInt = 1000
    ratio: Annotated[float, Range(0, 1)] = 0.5
    names: List[str] = field(default_factory=list)
    rules: List[Rule] = field(default_factory=list)
    labels: Dict[str, int] = field(default_factory=dict)
    tail: Optional[Rule] = None
    mode: Mode = Mode.FAST
    level: Literal["low", "high"] = "low"
    pair: Tuple[int, str] = (0, "")
    either: Union[int, str] = 0
    enabled: bool = True


def test_blank_text_reads_as_an_empty_object() -> None:
    for blank in ("", "  ", "\n\t", "{}"):
        assert parse_config(blank, Config) == Config()


def test_a_full_config_parses_into_types() -> None:
    config = parse_config(
        """{"threshold_ms": 0, "ratio": 1, "names": ["a"], "rules": [{"prefix": "x", "weight": 2}],
            "labels": {"k": 1}, "tail": {"prefix": "t"}, "mode": "safe", "level": "high",
            "pair": [1, "b"], "either": "s", "enabled": false}""",
        Config,
    )
    assert config == Config(
        0, 1.0, ["a"], [Rule("x", 2)], {"k": 1}, Rule("t"), Mode.SAFE, "high", (1, "b"), "s", False
    )
    assert isinstance(config.ratio, float)
    assert parse_config('{"tail": null}', Config).tail is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"threshold": 1}', "threshold: unknown key, expected one of `threshold_ms`, `ratio`"),
        ('{"threshold_ms": -1}', "threshold_ms: invalid value: integer `-1`, expected a number >= 0"),
        ('{"threshold_ms": "1s"}', 'threshold_ms: invalid type: string "1s", expected an integer'),
        ('{"threshold_ms": false}', "threshold_ms: invalid type: boolean `false`, expected an integer"),
        ('{"ratio": 2}', "ratio: invalid value: floating point `2.0`, expected a number in 0..=1"),
        ('{"ratio": "x"}', 'ratio: invalid type: string "x", expected a number'),
        ('{"names": ["a", null]}', "names[1]: invalid type: null, expected a string"),
        ('{"rules": [{"prefix": "a"}, {}]}', "rules[1].prefix: missing key"),
        ('{"rules": [{"prefix": "a", "weight": -2}]}', "rules[0].weight: invalid value"),
        ('{"rules": [{"prefix": "a", "to": "b"}]}', "rules[0].to: unknown key, expected one of `prefix`, `weight`"),
        ('{"rules": {}}', "rules: invalid type: an object, expected a list"),
        ('{"labels": {"k": "v"}}', 'labels.k: invalid type: string "v", expected an integer'),
        ('{"tail": 3}', "tail: invalid type: integer `3`, expected an object"),
        ('{"mode": "slow"}', 'mode: invalid value: string "slow", expected one of "fast", "safe"'),
        ('{"level": "mid"}', 'level: invalid value: string "mid", expected one of "low", "high"'),
        ('{"pair": [1]}', "pair: invalid length 1, expected a list of 2"),
        ('{"either": 1.5}', "either: invalid value: floating point `1.5`, matches none of"),
        ('{"enabled": 1}', "enabled: invalid type: integer `1`, expected a boolean"),
        ("3", "config: invalid type: integer `3`, expected an object"),
        ('{"a": ', "config is not valid JSON"),
    ],
)
def test_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(text, Config)
    assert str(refused.value).startswith(message), str(refused.value)
    assert isinstance(refused.value, PluginError)


def test_only_dataclasses_are_accepted() -> None:
    with pytest.raises(TypeError):
        parse_config("{}", dict)  # type: ignore[type-var]


def test_a_config_without_fields_refuses_every_key() -> None:
    @dataclass
    class Empty:
        pass

    assert parse_config("", Empty) == Empty()
    with pytest.raises(ConfigError, match="x: unknown key, this config takes no keys"):
        parse_config('{"x": 1}', Empty)
