"""llmkit.Template, ChatTemplate, FStringTemplate and PromptRegistry from Python."""

import threading

import pytest

import llmkit


def test_template_render_kwargs_dict_and_strict():
    t = llmkit.Template("Hello {{ name }}!", strict=True)
    assert t.render(name="Ada") == "Hello Ada!"
    assert t.render({"name": "Bob"}) == "Hello Bob!"
    assert t.render({"name": "Bob"}, name="Cy") == "Hello Cy!"
    assert t.variables == ["name"]
    with pytest.raises(llmkit.InvalidArgumentError, match="'name' is undefined"):
        t.render()
    assert llmkit.Template("Hello {{ name }}!").render() == "Hello !"


def test_render_takes_its_arguments_as_a_python_method_would():
    # render is a vectorcall method written against the C API (pybind11's dispatcher cost as much
    # as a chat template's render); its arguments behave as `def render(self, context=None, **kw)`.
    import inspect

    t = llmkit.Template("{{ a }}|{{ b }}")
    assert str(inspect.signature(t.render)) == "(context=None, **kwargs)"
    assert t.render(context={"a": 1}) == "1|"
    assert t.render(context={"a": 1}, b=2) == "1|2"
    assert t.render({"a": 1, "b": 2}, b=3) == "1|3"
    assert llmkit.Template.render(t, a="x") == "x|"
    with pytest.raises(TypeError, match="at most 1 positional argument"):
        t.render({}, {})
    with pytest.raises(TypeError, match="multiple values for argument 'context'"):
        t.render({}, context={})
    with pytest.raises(llmkit.InvalidArgumentError, match="takes a dict"):
        t.render([1])
    with pytest.raises(TypeError):
        llmkit.Template.render(object())
    with pytest.raises(llmkit.InvalidArgumentError, match="cannot convert object"):
        t.render(a=object())
    assert t.render(a=1, b=2) == "1|2"


def test_apply_takes_its_arguments_as_a_python_method_would():
    import inspect

    ct = llmkit.ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}|{{ tools }}|"
                             "{{ add_generation_prompt }}|{{ x }}")
    assert str(inspect.signature(ct.apply)) == \
        "(messages, tools=None, add_generation_prompt=False, **extra)"
    m = [{"role": "user", "content": "hi"}]
    assert ct.apply(m) == "hi|None|False|"
    assert ct.apply(m, [{"a": 1}], True, x=5) == "hi|[{'a': 1}]|True|5"
    assert ct.apply(messages=m, add_generation_prompt=1) == "hi|None|True|"
    assert ct.apply(m, add_generation_prompt=None) == "hi|None|False|"
    with pytest.raises(TypeError, match="missing required argument 'messages'"):
        ct.apply()
    with pytest.raises(TypeError, match="multiple values for argument 'tools'"):
        ct.apply(m, None, tools=None)
    with pytest.raises(TypeError, match="at most 3 positional arguments"):
        ct.apply(m, None, False, 1)
    with pytest.raises(TypeError, match="add_generation_prompt must be a bool, got str"):
        ct.apply(m, add_generation_prompt="yes")
    with pytest.raises(llmkit.InvalidArgumentError, match="cannot convert object"):
        ct.apply(m, x=object())


def test_whitespace_options_and_python_values():
    t = llmkit.Template("{% for x in xs %}\n  {{ x }}\n{% endfor %}", trim_blocks=True, lstrip_blocks=True)
    assert t.render(xs=[1, 2.5, None, True, "s", {"k": [1]}]) == "  1\n  2.5\n  None\n  True\n  s\n  {'k': [1]}\n"


def test_compile_errors_have_positions():
    with pytest.raises(llmkit.InvalidArgumentError, match="line 2, column") as e:
        llmkit.Template("ok\n{{ 1 + }}")
    assert "llmkit/byte_offset" in e.value.payloads


def test_limits_raise_resource_exhausted():
    t = llmkit.Template("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}", max_output_bytes=1000)
    with pytest.raises(llmkit.ResourceExhaustedError):
        t.render()
    with pytest.raises(llmkit.ResourceExhaustedError):
        llmkit.Template("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").render()


def test_loader_serves_includes_and_nothing_else():
    sources = {"header.j2": "# {{ title }}\n"}
    t = llmkit.Template("{% include 'header.j2' %}body", loader=sources.get)
    assert t.render(title="T") == "# Tbody"  # as Jinja2: the final newline of a file is dropped
    with pytest.raises(llmkit.NotFoundError):
        llmkit.Template("{% include 'missing' %}", loader=sources.get).render()
    with pytest.raises(llmkit.InvalidArgumentError, match="no loader"):
        llmkit.Template("{% include '/etc/passwd' %}").render()


def test_callers_data_is_not_modified():
    data = {"items": [1, 2]}
    assert llmkit.Template("{% set _ = items.append(3) %}{{ items }}").render(data) == "[1, 2, 3]"
    assert data == {"items": [1, 2]}


def test_chat_template_apply():
    source = ("{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}"
              "{% endfor %}{% if tools %}[{{ tools | length }} tools]{% endif %}"
              "{% if add_generation_prompt %}<|assistant|>{% endif %}{{ suffix | default('') }}")
    ct = llmkit.ChatTemplate(source, bos_token="<s>", eos_token="</s>")
    messages = [{"role": "user", "content": "hi"}]
    assert ct.apply(messages) == "<s><|user|>hi</s>"
    assert ct.apply(messages, tools=[{"type": "function"}], add_generation_prompt=True, suffix="!") == \
        "<s><|user|>hi</s>[1 tools]<|assistant|>!"


def test_fstring_template():
    f = llmkit.FStringTemplate("Summarize {text} in {n} words. Use {{braces}}.")
    assert f.variables == ["text", "n"]
    assert f.format(text="the doc", n=5) == "Summarize the doc in 5 words. Use {braces}."
    with pytest.raises(llmkit.InvalidArgumentError, match="missing variable 'n'"):
        f.format(text="x")
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.FStringTemplate("lone } brace")


def test_threads_share_one_template():
    t = llmkit.Template("{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}")
    messages = [{"role": "user", "content": str(i)} for i in range(20)]
    expected = "".join(f"user:{i};" for i in range(20))
    errors = []

    def work():
        for _ in range(500):
            if t.render(messages=messages) != expected:
                errors.append(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors


def test_prompt_registry(tmp_path):
    (tmp_path / "qa.prompt").write_text(
        "---\nname: qa\ndescription: QA\nmodel: gpt-4o-mini\ntemperature: 0.1\n"
        "input_variables: question\n---\nQ: {{ question }}", encoding="utf-8")
    reg = llmkit.PromptRegistry(str(tmp_path))
    p = reg.get("qa")
    assert (p.version, p.description, p.parameters, p.input_variables) == (1, "QA", {"model": "gpt-4o-mini", "temperature": 0.1}, ["question"])
    reg.promote("qa", 1, "production")
    (tmp_path / "qa.prompt").write_text("---\ninput_variables: question\n---\nQuestion: {{ question }}", encoding="utf-8")
    added = reg.sync()
    assert [v.version for v in added] == [2]
    reg.promote("qa", 2, "production")
    assert reg.get("qa", label="production").render(question="why?") == "Question: why?"
    assert reg.rollback("qa", "production") == 1
    assert reg.get("qa", label="production").render(question="why?") == "Q: why?"
    assert reg.labels("qa") == {"production": 1}
    assert [e.action for e in reg.history("qa")] == ["promote", "promote", "rollback"]
    # Persisted: a new registry on the same folder sees the same labels.
    assert llmkit.PromptRegistry(str(tmp_path)).get("qa", label="production").version == 1
    with pytest.raises(llmkit.NotFoundError):
        reg.get("qa", label="canary")
    (tmp_path / "bad.prompt").write_text("{% if %}", encoding="utf-8")
    reg.sync()
    with pytest.raises(llmkit.FailedPreconditionError):
        reg.promote("bad", 1, "production")


def test_every_limit_by_its_cpp_name_and_a_render_deadline():
    slow = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    t = llmkit.Template(slow, max_render_time=0.05, max_loop_iterations=2**62)
    with pytest.raises(llmkit.DeadlineExceededError, match="max_render_time"):
        t.render()
    for keyword in ("max_output_bytes", "max_loop_iterations", "max_recursion_depth", "max_memory_bytes",
                    "max_nesting_depth", "max_render_time"):
        with pytest.raises(llmkit.InvalidArgumentError, match=keyword):
            llmkit.Template("x", **{keyword: 0})
        with pytest.raises(llmkit.InvalidArgumentError, match=keyword):
            llmkit.ChatTemplate("x", **{keyword: -1})
    chat = llmkit.ChatTemplate("{{ messages[0].content * 1000 }}", max_output_bytes=100)
    with pytest.raises(llmkit.ResourceExhaustedError, match="max_output_bytes"):
        chat.apply([{"role": "user", "content": "abc"}])
    memory = llmkit.Template("{{ (range(1000) | list) * 50 }}", max_memory_bytes=10_000)
    with pytest.raises(llmkit.ResourceExhaustedError, match="max_memory_bytes"):
        memory.render()
    assert llmkit.Template("{{ x }}", max_render_time=None).render(x=1) == "1"


MEMORY_CASES = {
    # Each builds far more than the budget; each must be refused with the peak memory of the
    # process within a small factor of max_memory_bytes (64 MiB here), not grow until the OS kills it.
    "extend": "{% set l = [1, 2, 3, 4, 5, 6, 7, 8] %}{% for i in range(40) %}{% set _ = l.extend(l) %}{% endfor %}",
    "join": "{{ (range(100000) | list * 100) | join('xxxxxxxxxx') | length }}",
    "split": "{% set s = 'a ' * 30000000 %}{{ s.split() | length }}",
    "split_sep": "{% set s = 'a,' * 30000000 %}{{ s.split(',') | length }}",
    "list": "{% set s = 'a' * 60000000 %}{{ s | list | length }}",
    "batch": "{{ (range(100000) | list * 100) | batch(1) | list | length }}",
    "format_method": "{{ '{}{}'.format('a' * 60000000, 'b' * 60000000) | length }}",
    "format_filter": "{{ '%s%s' | format('a' * 60000000, 'b' * 60000000) | length }}",
    "mod_mapping": "{{ ('%(a)s%(a)s' % {'a': 'x' * 60000000}) | length }}",
    "precision": "{{ ('%.999999999f' % 1.5) | length }}",
    "appends": "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set _ = ns.l.append('x' * 1000000) %}{% endfor %}",
}

MEMORY_CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import llmkit
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    llmkit.Template(sys.argv[1], max_memory_bytes=64 << 20).render()
    result = "rendered"
except llmkit.ResourceExhaustedError as e:
    result = "refused: " + str(e)
except MemoryError:
    result = "MemoryError"
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"result": result, "grown_mb": grown // 1024}))
"""


@pytest.mark.parametrize("name", sorted(MEMORY_CASES))
def test_memory_budget_holds_for_every_value_building_operation(name):
    import json
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", MEMORY_CHILD, MEMORY_CASES[name]], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["result"].startswith("refused"), report
    # The strings the template builds before the limit is hit (60 MB literals) come on top.
    assert report["grown_mb"] < 4 * 64 + 256, report


def _random_value(rng, depth=0):
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randrange(-1000, 1000)
    if kind == 2:
        return rng.choice([0.5, -2.25, 1e300])
    if kind in (3, 4):
        return rng.choice(["", "a", "é" * rng.randrange(40), "x" * rng.randrange(100)])
    if kind == 5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = rng.sample(["role", "content", "name", "tool_calls"], rng.randrange(4))
    return {k: _random_value(rng, depth + 1) for k in keys}


def test_renders_in_a_row_never_see_the_last_renders_values():
    # The bindings keep the last converted context per thread and assign the next one into it;
    # contexts of the same shape, of a similar one (keys reordered, lists longer or shorter,
    # values changing type) and of another one must each render as if converted afresh.
    import random

    rng = random.Random(20261202)
    t = llmkit.Template("{{ ctx }}|{{ extra }}")
    for _ in range(2000):
        ctx = _random_value(rng)
        extra = _random_value(rng)
        assert t.render(ctx=ctx, extra=extra) == f"{ctx}|{extra}"
        assert t.render({"ctx": ctx}, extra=extra) == f"{ctx}|{extra}"
    messages = [{"role": "user", "content": "a"}, {"content": "b", "role": "assistant"}]
    chat = llmkit.ChatTemplate("{% for m in messages %}{{ m }};{% endfor %}")
    assert chat.apply(messages) == "{'role': 'user', 'content': 'a'};{'content': 'b', 'role': 'assistant'};"
    assert chat.apply(messages[::-1]) == "{'content': 'b', 'role': 'assistant'};{'role': 'user', 'content': 'a'};"
    assert chat.apply(messages[:1]) == "{'role': 'user', 'content': 'a'};"


def test_a_failed_conversion_and_a_nested_render_leave_the_next_render_right():
    t = llmkit.Template("{{ xs }}")
    assert t.render(xs=[1, "two", {"k": 3}]) == "[1, 'two', {'k': 3}]"
    with pytest.raises(llmkit.InvalidArgumentError, match="cannot convert object"):
        t.render(xs=[1, "two", object()])
    assert t.render(xs=[1, "two"]) == "[1, 'two']"
    inner = llmkit.Template("{{ xs }}")
    # A loader that renders another template while the outer render's context is in use.
    outer = llmkit.Template("{% include 'x' %}/{{ xs }}",
                            loader=lambda name: inner.render(xs=["inner", 1]) + "!")
    assert outer.render(xs=["outer", 2]) == "['inner', 1]!/['outer', 2]"
    assert t.render(xs=["after"]) == "['after']"


def test_render_reads_strings_in_place_holding_them_until_it_ends():
    # The variables view the str objects' own UTF-8 instead of copying it; each str is held
    # for the render. A loader runs during the render with the GIL: it drops the dict's only
    # reference to a str the render has not printed yet, which must still print as it was.
    import sys

    original = "".join(["orig", "inal é ", "x" * 5000])
    ctx = {"s": original, "items": [original, 1]}
    del original

    def loader(name):
        ctx["s"] = "changed"
        ctx["items"][0] = "changed"
        return "[{{ s[:10] }}]"

    t = llmkit.Template("{% include 'p' %}{{ s[:10] }}|{{ items[0][:10] }}|{{ items | length }}",
                        loader=loader)
    assert t.render(ctx) == "[original é]original é|original é|2"
    assert t.render(ctx) == "[changed]changed|changed|2"
    # Each str is released after the render, on success and on failure alike.
    s = "".join(["abc"] * 100)
    before = sys.getrefcount(s)
    plain = llmkit.Template("{{ x }}{{ y }}{{ z.k }}")
    for _ in range(100):
        assert plain.render(x=s, y=[s], z={"k": s}).startswith("abc")
        with pytest.raises(llmkit.InvalidArgumentError, match="keys must be str"):
            plain.render(x=s, y=[s, {1: s}])
        with pytest.raises(llmkit.InvalidArgumentError, match="64 bits"):
            plain.render({"x": s, "y": 2**64})
        with pytest.raises(llmkit.InvalidArgumentError, match="surrogate"):
            plain.render(x=s, y="a\ud800")
    assert sys.getrefcount(s) == before


def test_a_long_render_lets_the_gil_go_and_still_prints_the_strings_it_was_given():
    # A short render keeps the GIL (releasing it cost more than rendering). One that runs long
    # holds every str it reads and then lets the GIL go: another thread runs meanwhile, and
    # dropping the context's only references to its strs does not change what the render prints.
    import sys
    import time

    t = llmkit.Template("{% for i in range(n) %}{% for j in range(1000) %}{% endfor %}{% endfor %}"
                        "{{ items | join(',') }}|{{ d.k }}")

    def attempt():
        items = ["".join(["item ", str(i), " é"]) for i in range(3)]
        d = {"k": "".join(["val", "ue"])}
        expected = ",".join(items) + "|value"
        stamps = []
        go, stop = threading.Event(), threading.Event()

        def other_thread():
            go.wait()  # Runs once the main thread lets the GIL go: inside the render.
            for i in range(3):
                items[i] = "changed"  # The list held the only reference to the old str.
            d["k"] = "changed"
            while not stop.is_set() and len(stamps) < 1_000_000:
                stamps.append(time.monotonic())

        thread = threading.Thread(target=other_thread)
        thread.start()
        start = time.monotonic()
        go.set()
        out = t.render(items=items, d=d, n=3_000)  # 3 million iterations: a few hundred ms.
        end = time.monotonic()
        stop.set()
        thread.join()
        # Either the render read the context before the other thread changed it (the usual
        # case), or, on a machine too busy for that, after: never a mix, never freed memory.
        assert out in (expected, "changed,changed,changed|changed")
        middle = [s for s in stamps if start + (end - start) * 0.25 < s < start + (end - start) * 0.75]
        return out == expected and bool(middle), end - start

    results = [attempt() for _ in range(3)]
    assert any(ok for ok, _ in results), f"no other thread ran inside a long render: {results}"
    # The strs the long render held are released after it, on success and on failure.
    s = "".join(["abc"] * 100)
    before = sys.getrefcount(s)
    slow = llmkit.Template("{% for i in range(n) %}{% for j in range(1000) %}{% endfor %}{% endfor %}"
                           "{{ x }}{{ y[0] }}{{ z.k }}",
                           max_render_time=0.05)
    for _ in range(3):
        assert t.render(items=[s, s], d={"k": s}, n=100).startswith("abc")
        with pytest.raises(llmkit.DeadlineExceededError):
            slow.render(x=s, y=[s], z={"k": s}, n=100_000)
    assert sys.getrefcount(s) == before
