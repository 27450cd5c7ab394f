"""llmkit's JSON writer against Python's json module, and the exception hierarchy."""

import json
import math
import random

import llmkit
import pytest


def random_value(rng, depth=0):
    kind = rng.randrange(5 if depth > 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randrange(-(2**62), 2**62)
    if kind == 3:
        return rng.choice([rng.uniform(-1e6, 1e6), rng.uniform(-1, 1) * 1e-9, 1e16, 1e15, 0.1, -0.0])
    if kind == 4:
        return "".join(rng.choice(['a', '"', "\\", "\n", "\x01", "é", "\u2028", "😀", "/", "\x7f"])
                       for _ in range(rng.randrange(8)))
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {f"k{rng.randrange(10)}": random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_dumps_matches_python_json_byte_for_byte():
    rng = random.Random(3)
    for _ in range(3000):
        value = random_value(rng)
        for indent in (None, 2):
            for sort_keys in (False, True):
                for ensure_ascii in (False, True):
                    expected = json.dumps(value, indent=indent, sort_keys=sort_keys,
                                          ensure_ascii=ensure_ascii)
                    ours = llmkit.json_dumps(value, indent=-1 if indent is None else indent,
                                             sort_keys=sort_keys, ensure_ascii=ensure_ascii,
                                             python_style=True)
                    assert ours == expected


def test_loads_matches_python_json():
    rng = random.Random(4)
    for _ in range(2000):
        text = json.dumps(random_value(rng))
        assert llmkit.json_loads(text) == json.loads(text)


def test_non_finite_floats_print_as_python_does():
    assert llmkit.json_dumps([math.nan, math.inf, -math.inf]) == json.dumps(
        [math.nan, math.inf, -math.inf], separators=(",", ":"))


def test_parse_errors_name_the_offset():
    with pytest.raises(llmkit.InvalidArgumentError) as info:
        llmkit.json_loads('{"a": [1, 2,]}')
    assert info.value.byte_offset == 12
    assert "byte offset 12" in str(info.value)


def test_exception_hierarchy():
    assert issubclass(llmkit.InvalidArgumentError, ValueError)
    assert issubclass(llmkit.NotFoundError, LookupError)
    assert issubclass(llmkit.DeadlineExceededError, TimeoutError)
    assert issubclass(llmkit.UnavailableError, ConnectionError)
    assert issubclass(llmkit.RateLimitError, llmkit.Error)
    for cls in (llmkit.InvalidArgumentError, llmkit.RateLimitError, llmkit.DataLossError):
        assert issubclass(cls, llmkit.Error)
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.json_dumps({1: 2})


def test_deep_or_self_containing_values_are_refused_not_crashed():
    # A value that contains itself, or nesting far deeper than json_loads accepts (1024), would
    # overflow the stack if converted recursively: every entry point refuses it with an error.
    loop = []
    loop.append(loop)
    selfish = {}
    selfish["me"] = selfish
    deep = []
    for _ in range(100_000):
        deep = [deep]
    deep_dict = {}
    for _ in range(30_000):
        deep_dict = {"a": deep_dict}
    template = llmkit.Template("{{ x }}")
    shared = [1]
    for value, message in ((loop, "circular reference"), (selfish, "circular reference"),
                           ([1, [2, loop]], "circular reference"), (deep, "deeper than 1024"),
                           (deep_dict, "deeper than 1024")):
        with pytest.raises(llmkit.InvalidArgumentError, match=message):
            llmkit.json_dumps(value)
        with pytest.raises(llmkit.InvalidArgumentError, match=message):
            template.render(x=value)
    assert llmkit.json_dumps([shared, shared, {"a": shared}]) == '[[1],[1],{"a":[1]}]'  # Not a cycle.
    ok = []
    for _ in range(1023):
        ok = [ok]
    assert llmkit.json_dumps(ok) == "[" * 1024 + "]" * 1024
    with pytest.raises(llmkit.InvalidArgumentError, match="cannot convert set"):
        llmkit.json_dumps({1, 2})
    with pytest.raises(llmkit.InvalidArgumentError, match="keys must be str, got int"):
        llmkit.json_dumps({1: 2})
    with pytest.raises(llmkit.InvalidArgumentError, match="64 bits"):
        llmkit.json_dumps(2**64)
