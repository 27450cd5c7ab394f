"""llmkit.JsonSchema from Python: Python values and JSON text, errors with locations, the
ValidationError hierarchy, resolvers, drafts, formats, and hostile input."""

import threading

import pytest

import llmkit

TOOL_ARGS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
    },
    "required": ["city"],
    "additionalProperties": False,
}


def test_valid_and_invalid_instances_with_locations():
    schema = llmkit.JsonSchema(TOOL_ARGS)
    assert schema.is_valid({"city": "Paris", "unit": "celsius", "days": 3})
    assert schema.is_valid_json('{"city": "Paris"}')
    assert not schema.is_valid({"city": "", "days": 0, "extra": True})
    errors = schema.errors({"city": "", "days": 0, "extra": True})
    found = {(e.instance_path, e.keyword_location, e.message) for e in errors}
    assert found == {
        ("/city", "/properties/city/minLength", "must NOT have fewer than 1 characters"),
        ("/days", "/properties/days/minimum", "must be >= 1"),
        ("/extra", "/additionalProperties", "must NOT have additional properties"),
    }
    with pytest.raises(llmkit.ValidationError) as raised:
        schema.validate({"unit": "kelvin"})
    assert isinstance(raised.value, llmkit.InvalidArgumentError) and isinstance(raised.value, ValueError)
    assert {e.keyword_location for e in raised.value.errors} == {"/required", "/properties/unit/enum"}
    assert "must have required property 'city'" in str(raised.value)
    with pytest.raises(llmkit.ValidationError):
        schema.validate_json('{"city": 3}')
    first = llmkit.JsonSchema(TOOL_ARGS, all_errors=False)
    assert len(first.errors({"city": "", "days": 0})) == 1


def test_schema_as_text_bool_and_bad_schemas_name_the_location():
    assert llmkit.JsonSchema('{"type": "integer"}').is_valid(3)
    assert not llmkit.JsonSchema(False).is_valid(None)
    assert llmkit.JsonSchema(True).is_valid({"anything": [1]})
    with pytest.raises(llmkit.InvalidArgumentError, match="/properties/a/minLength"):
        llmkit.JsonSchema({"properties": {"a": {"minLength": -1}}})
    with pytest.raises(llmkit.InvalidArgumentError, match="lookahead"):
        llmkit.JsonSchema({"pattern": "a(?=b)"})
    with pytest.raises(llmkit.InvalidArgumentError, match="no resolver"):
        llmkit.JsonSchema({"$ref": "https://example.com/schema.json"})
    with pytest.raises(llmkit.InvalidArgumentError, match="draft"):
        llmkit.JsonSchema({}, draft="draft3")
    with pytest.raises(llmkit.InvalidArgumentError, match="byte"):
        llmkit.JsonSchema("{not json")


def test_resolver_serves_remote_refs_and_is_called_only_for_them():
    calls = []

    def resolver(uri):
        calls.append(uri)
        return {"type": "string"} if uri == "https://example.com/name.json" else None

    schema = llmkit.JsonSchema({"properties": {"name": {"$ref": "https://example.com/name.json"}},
                                "$defs": {"n": {"type": "integer"}}, "items": {"$ref": "#/$defs/n"}},
                               resolver=resolver)
    assert calls == ["https://example.com/name.json"]
    assert schema.is_valid({"name": "x"}) and not schema.is_valid({"name": 1})
    assert schema.is_valid([1, 2]) and not schema.is_valid([1, "2"])
    with pytest.raises(llmkit.InvalidArgumentError, match="no schema for"):
        llmkit.JsonSchema({"$ref": "https://example.com/other.json"}, resolver=resolver)


def test_drafts_formats_and_regex_dialect():
    # draft-07: items as an array with additionalItems; 2020-12: prefixItems and items.
    d7 = llmkit.JsonSchema({"items": [{"type": "integer"}], "additionalItems": False}, draft="draft7")
    assert d7.is_valid([1]) and not d7.is_valid([1, 2])
    d2020 = llmkit.JsonSchema({"prefixItems": [{"type": "integer"}], "items": False})
    assert d2020.is_valid([1]) and not d2020.is_valid([1, 2])
    dated = {"format": "date-time"}
    assert llmkit.JsonSchema(dated).is_valid("yesterday")  # an annotation by default
    asserted = llmkit.JsonSchema(dated, formats=True)
    assert asserted.is_valid("2025-07-10T12:00:00Z") and not asserted.is_valid("2025-02-30T12:00:00Z")
    spaces = llmkit.JsonSchema({"pattern": "^\\s$"})
    assert spaces.is_valid("\u00a0") and spaces.is_valid("\ufeff")  # ECMA-262's \s, not RE2's
    assert llmkit.JsonSchema({"pattern": "^\\p{Letter}+$"}).is_valid("élan")


def test_hostile_input_is_linear_and_never_crashes():
    # A regex that backtracks exponentially elsewhere; a deep instance; a $ref loop; a schema
    # that branches exponentially.
    schema = llmkit.JsonSchema({"pattern": "^(a+)+$"})
    assert not schema.is_valid("a" * 100_000 + "!")
    deep = current = []
    for _ in range(900):
        current.append([])
        current = current[0]
    assert llmkit.JsonSchema({"items": {"$ref": "#"}}).is_valid(deep) in (True, False)
    # A reference back to where it is, without descending into the instance, never ends:
    # refused when compiling, naming the reference.
    with pytest.raises(ValueError, match="'/\\$ref'.*without descending"):
        llmkit.JsonSchema({"$ref": "#"})
    # Thirty definitions, each applying the next one twice: 2^30 evaluations, stopped by the
    # work budget with one error.
    defs = {f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 2} for i in range(30)}
    defs["d30"] = {"type": "integer"}
    doubling = llmkit.JsonSchema({"$ref": "#/$defs/d0", "$defs": defs})
    assert not doubling.is_valid(1)
    with pytest.raises(llmkit.ValidationError) as stopped:
        doubling.validate(1)
    assert len(stopped.value.errors) == 1
    assert "branches exponentially" in stopped.value.errors[0].message
    assert llmkit.JsonSchema({"maximum": 1}).is_valid(float("-inf"))
    assert not llmkit.JsonSchema({"maximum": 1}).is_valid(float("nan"))


def test_one_schema_many_threads():
    schema = llmkit.JsonSchema(TOOL_ARGS)
    good, bad = {"city": "Oslo", "days": 2}, {"city": 1}
    failures = []

    def work():
        for _ in range(2000):
            if not schema.is_valid(good) or schema.is_valid(bad):
                failures.append(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
