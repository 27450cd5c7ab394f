"""Agent tools from Python functions: the JSON Schema of the arguments comes from the signature
and type hints, the descriptions from the docstring (its first paragraph for the tool, a
Google-style ``Args:`` section or reST ``:param x:`` lines for the parameters). And
``Agent.stream``: the run's events as an iterator."""

import asyncio
import dataclasses
import enum
import inspect
import queue
import re
import threading
import types
import typing

__all__ = ["Tool", "tool", "AgentStream"]


class Tool:
    """A function the agent may call: name, description, parameters (a JSON Schema dict),
    the function itself (called with the arguments as keywords), timeout in seconds (None: only
    the run's deadline), needs_approval (True, or a function of the arguments dict returning
    whether this call needs a person's approval; the agent needs a run_store)."""

    __slots__ = ("name", "description", "parameters", "function", "timeout", "needs_approval")

    def __init__(self, function, *, name=None, description=None, parameters=None, timeout=None,
                 needs_approval=False):
        if not callable(function):
            raise TypeError(f"a tool must be callable, not {type(function).__name__}")
        self.function = function
        self.name = name if name is not None else function.__name__
        doc_description, param_docs = _parse_docstring(inspect.getdoc(function) or "")
        self.description = description if description is not None else doc_description
        self.parameters = parameters if parameters is not None else _schema_of(function, param_docs)
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds or None, not {timeout!r}")
        self.timeout = timeout
        if not (isinstance(needs_approval, bool) or callable(needs_approval)):
            raise TypeError("needs_approval must be a bool or a function of the arguments")
        self.needs_approval = needs_approval
        if inspect.iscoroutinefunction(function):
            self.function = lambda **kwargs: asyncio.run(function(**kwargs))

    def __call__(self, **arguments):
        return self.function(**arguments)

    def __repr__(self):
        return f"Tool(name={self.name!r}, description={self.description!r})"


def tool(function=None, *, name=None, description=None, parameters=None, timeout=None,
         needs_approval=False):
    """Makes ``function`` a Tool; usable as ``@llmkit.tool`` or ``@llmkit.tool(timeout=5)``."""
    def make(f):
        return Tool(f, name=name, description=description, parameters=parameters, timeout=timeout,
                    needs_approval=needs_approval)
    return make if function is None else make(function)


_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_SECTION = re.compile(r"^\s*[A-Z][A-Za-z ]*:\s*$")
_GOOGLE_ARG = re.compile(r"^\s*(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_REST_PARAM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+):\s*(.*)$")


def _parse_docstring(doc):
    """(description, {parameter: description}) of a docstring."""
    lines = doc.splitlines()
    description = []
    for line in lines:
        if not line.strip() or _ARGS_HEADER.match(line) or _REST_PARAM.match(line):
            break
        description.append(line.strip())
    params, current, in_args, indent = {}, None, False, None
    for line in lines:
        rest = _REST_PARAM.match(line)
        if rest:
            current = rest.group(1)
            params[current] = rest.group(2).strip()
            continue
        if _ARGS_HEADER.match(line):
            in_args, indent = True, None
            continue
        if in_args:
            if not line.strip():
                continue
            if _SECTION.match(line) and (indent is None or len(line) - len(line.lstrip()) < indent):
                in_args = False
                continue
            arg = _GOOGLE_ARG.match(line)
            depth = len(line) - len(line.lstrip())
            if arg and (indent is None or depth <= indent):
                indent = depth
                current = arg.group(1).lstrip("*")
                params[current] = arg.group(3).strip()
            elif current is not None:
                params[current] = (params[current] + " " + line.strip()).strip()
    return " ".join(description), params


def _schema_of(function, param_docs):
    signature = inspect.signature(function)
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # Unresolvable forward references: fall back to no types.
        hints = {}
    properties, required = {}, []
    for name, p in signature.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        schema = _type_schema(hints[name]) if name in hints else {}
        if name in param_docs and param_docs[name]:
            schema = dict(schema, description=param_docs[name])
        if p.default is p.empty:
            required.append(name)
        elif _is_json(p.default):
            schema = dict(schema, default=p.default)
        properties[name] = schema
    out = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    out["additionalProperties"] = any(
        p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    return out


def _is_json(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def _type_schema(hint):
    """The JSON Schema of a type hint; {} (anything) for what has none."""
    if hint is typing.Any or hint is inspect.Parameter.empty:
        return {}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        schema = _type_schema(args[0])
        for extra in args[1:]:
            if isinstance(extra, str):
                schema = dict(schema, description=extra)
        return schema
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        options = [_type_schema(a) for a in args]
        simple = [o.get("type") for o in options if set(o) == {"type"} and isinstance(o.get("type"), str)]
        if len(simple) == len(options):
            return {"type": simple}
        return {"anyOf": options}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple, set, frozenset):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return {"type": "array", "prefixItems": [_type_schema(a) for a in args],
                    "minItems": len(args), "maxItems": len(args)}
        schema = {"type": "array"}
        if args:
            schema["items"] = _type_schema(args[0])
        if origin in (set, frozenset) or hint in (set, frozenset):
            schema["uniqueItems"] = True
        return schema
    if origin is dict or hint is dict:
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = _type_schema(args[1])
        return schema
    if inspect.isclass(hint) and issubclass(hint, enum.Enum):
        return {"enum": [m.value for m in hint]}
    if inspect.isclass(hint) and hasattr(hint, "model_json_schema"):  # pydantic v2
        return hint.model_json_schema()
    if dataclasses.is_dataclass(hint):
        return _schema_of(hint, {})
    if typing.is_typeddict(hint) if hasattr(typing, "is_typeddict") else False:
        hints = typing.get_type_hints(hint)
        return {"type": "object", "properties": {k: _type_schema(v) for k, v in hints.items()},
                "required": sorted(getattr(hint, "__required_keys__", hints))}
    return {}


class AgentStream:
    """The events of one run as they happen (an iterator of AgentEvent); ``result`` once it
    ended. Runs the agent on a thread; leaving the iteration early cancels nothing (use
    ``timeout=``), the run goes on to its end."""

    def __init__(self, agent, input, **kwargs):
        self._events = queue.Queue()
        self._result = None
        self._error = None
        self._done = False

        def run():
            try:
                self._result = agent.run(input, on_event=self._events.put, **kwargs)
            except BaseException as e:  # Re-raised by the iterator.
                self._error = e
            finally:
                self._events.put(None)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        event = self._events.get()
        if event is None:
            self._done = True
            self._thread.join()
            if self._error is not None:
                raise self._error
            raise StopIteration
        return event

    @property
    def result(self):
        """The AgentResult; raises FailedPreconditionError before the stream has ended."""
        if not self._done:
            from ._errors import FailedPreconditionError
            raise FailedPreconditionError("the agent's run has not ended; iterate the stream first")
        return self._result
