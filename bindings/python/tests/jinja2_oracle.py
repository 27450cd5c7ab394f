"""The Jinja2 oracle of the differential tests: Debian's python3-jinja2 configured as
transformers configures it for chat templates (loop controls, {% generation %}, tojson =
json.dumps(ensure_ascii=False), raise_exception, strftime_now at a fixed time), in a
SandboxedEnvironment so templates may change their own lists. Used by
test_template_jinja2_parity.py and the hostile-template runner (hostile_child.py)."""

import datetime
import json

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import SandboxedEnvironment

FIXED_NOW = datetime.datetime(2025, 7, 10, 12, 0, 0)


class GenerationTag(jinja2.ext.Extension):
    """transformers' {% generation %} ... {% endgeneration %}: renders its body unchanged."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body, lineno=lineno)


def oracle_env(trim_blocks, lstrip_blocks, keep_trailing_newline=False):
    env = SandboxedEnvironment(
        trim_blocks=trim_blocks,
        lstrip_blocks=lstrip_blocks,
        keep_trailing_newline=keep_trailing_newline,
        extensions=["jinja2.ext.loopcontrols", GenerationTag],
    )

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def strftime_now(fmt):
        return FIXED_NOW.strftime(fmt)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env
