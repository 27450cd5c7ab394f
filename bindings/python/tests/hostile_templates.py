"""The hostile-template corpus: templates and contexts as an attacker would write them.

test_hostile_templates.py renders each case in its own child process (hostile_child.py) under
an address-space cap, with max_memory_bytes 64 MiB and max_render_time 2 s. Each case must
either render exactly as Jinja2 does (the oracle of jinja2_oracle.py) or end in an llmkit.Error
within its time budget; no case may crash the process, hang, or grow it past its memory budget.

A case is (name, template, context, expected). The context is a Python expression evaluated in
the child with the builders below (so that deep, wide and self-containing values need not be
spelled out). `expected` is given only where Jinja2 itself cannot render the case (its parser
recurses once per operator or block and hits Python's recursion limit, or it takes minutes):
there llmkit's output is compared with it instead.
"""

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

BUILDERS = '''
def deep_list(n, leaf=1):
    v = leaf
    for _ in range(n):
        v = [v]
    return v

def deep_dict(n, leaf=1):
    v = leaf
    for _ in range(n):
        v = {"a": v}
    return v

def deep_mixed(n):
    v = "leaf"
    for i in range(n):
        v = [v] if i % 2 else {"k": v}
    return v

def self_list():
    v = [1]
    v.append(v)
    return v

def self_dict():
    v = {"a": 1}
    v["self"] = v
    return v

def mutual():
    a, b = [], {}
    a.append(b)
    b["a"] = a
    return a

def shared(n):
    leaf = ["x"] * 10
    return [leaf] * n
'''

CASES = []


def case(name, template, context="{}", expected=None):
    CASES.append((name, template, context, expected))


# --- Introspection and escapes: Jinja2's sandbox refuses them; llmkit must refuse or agree. ---
for i, expr in enumerate([
    "''.__class__", "''.__class__.__mro__", "''.__class__.__mro__[1].__subclasses__()",
    "x.__class__", "x.__dict__", "x.__init__", "x.__init__.__globals__", "[].__class__",
    "{}.__class__.__bases__", "(1).__class__", "range.__globals__", "range.__self__",
    "cycler.__init__.__globals__", "joiner.__init__.__globals__", "namespace.__init__",
    "lipsum.__globals__", "self", "self.__dict__", "config", "request", "url_for",
    "get_flashed_messages", "''|attr('__class__')", "x|attr('__class__')",
    "''.format.__self__", "'{0.__class__}'.format('')", "'{0.__class__.__mro__}'.format(x)",
    "'%s'.__mod__", "x.items", "x.items.__self__", "loop", "caller", "varargs", "kwargs",
    "[].pop", "''.join.__self__", "x.keys()|list", "{}.update", "range(3).__iter__",
    "dict.__class__",
]):
    case(f"introspect_{i}", "{{ " + expr + " }}", "{'x': {'a': 1}}")
case("include_file", "{% include '/etc/passwd' %}")
case("import_file", "{% import '/etc/passwd' as p %}{{ p }}")
case("from_import", "{% from '/etc/hostname' import x %}{{ x }}")
case("extends_file", "{% extends '/etc/passwd' %}")
case("include_self_name", "{% include '<template>' %}")
case("format_attr", "{{ '{0.a}'.format(x) }}", "{'x': {'a': 1}}")
case("format_index_attr", "{{ '{0[a]}'.format(x) }}", "{'x': {'a': 'b'}}")
case("mod_dunder", "{{ '%(__class__)s' % x }}", "{'x': {'a': 1}}")
case("attr_filter_private", "{{ x|attr('_private') }}", "{'x': {'_private': 1}}")
case("getattr_str_method", "{{ ''.upper }}")

# --- Deep and self-containing contexts (the crashes issue 18 reported). ---
for depth in (1000, 1023, 1024, 1025, 5000, 50000, 100000):
    case(f"deep_list_print_{depth}", "{{ x }}", f"{{'x': deep_list({depth})}}")
    case(f"deep_dict_json_{depth}", "{{ x|tojson }}", f"{{'x': deep_dict({depth})}}")
for depth in (2000, 25000):
    case(f"deep_list_length_{depth}", "{{ x|length }}", f"{{'x': deep_list({depth})}}")
    case(f"deep_list_index_{depth}", "{{ x[0][0][0] }}", f"{{'x': deep_list({depth})}}")
    case(f"deep_mixed_string_{depth}", "{{ x|string|length }}", f"{{'x': deep_mixed({depth})}}")
    case(f"deep_list_eq_{depth}", "{{ x == y }}", f"{{'x': deep_list({depth}), 'y': deep_list({depth})}}")
    case(f"deep_list_in_{depth}", "{{ x in [1, 2] }}", f"{{'x': deep_list({depth})}}")
    case(f"deep_dict_items_{depth}", "{% for k, v in x.items() %}{{ k }}{% endfor %}",
         f"{{'x': deep_dict({depth})}}")
    case(f"deep_list_for_{depth}", "{% for v in x %}{{ v|length }}{% endfor %}",
         f"{{'x': deep_list({depth})}}")
    case(f"deep_list_sort_{depth}", "{{ [x, y]|sort|length }}",
         f"{{'x': deep_list({depth}), 'y': deep_list({depth}, 2)}}")
case("self_list_print", "{{ x }}", "{'x': self_list()}")
case("self_list_json", "{{ x|tojson }}", "{'x': self_list()}")
case("self_list_length", "{{ x|length }}", "{'x': self_list()}")
case("self_dict_print", "{{ x }}", "{'x': self_dict()}")
case("self_dict_json", "{{ x|tojson }}", "{'x': self_dict()}")
case("self_dict_items", "{% for k in x %}{{ k }}{% endfor %}", "{'x': self_dict()}")
case("mutual_print", "{{ x }}", "{'x': mutual()}")
case("mutual_json", "{{ x|tojson(indent=2) }}", "{'x': mutual()}")
case("messages_self", "{% for m in messages %}{{ m.role }}{% endfor %}",
     "{'messages': (lambda m: (m.append({'role': 'user', 'content': m}), m)[1])([])}")
case("shared_not_cycle", "{{ x|tojson|length }}", "{'x': shared(1000)}")
case("shared_print", "{{ x|length }} {{ x[999]|join }}", "{'x': shared(1000)}")

# --- Deep and cyclic values built by the template itself. ---
DEEP_BUILD = ("{% set ns = namespace(x=[], y=[]) %}{% for j in range(3) %}{% for i in range(100000) %}"
              "{% set ns.x = [ns.x] %}{% set ns.y = [ns.y] %}{% endfor %}{% endfor %}")
for name, tail in [("length", "{{ ns.x|length }}"), ("print", "{{ ns.x }}"), ("json", "{{ ns.x|tojson }}"),
                   ("eq", "{{ ns.x == ns.y }}"), ("ne", "{{ ns.x != ns.y }}"), ("in", "{{ ns.x in [ns.y] }}"),
                   ("in_same", "{{ ns.x in [ns.x] }}"), ("sort", "{{ [ns.x, ns.y]|sort|length }}"),
                   ("unique", "{{ [ns.x, ns.y]|unique|list|length }}"), ("max", "{{ [ns.x, ns.y]|max|length }}"),
                   ("string", "{{ ns.x|string|length }}"), ("index", "{{ [ns.y, ns.x].index(ns.x) }}"),
                   ("count", "{{ [ns.x, ns.y].count(ns.y) }}"), ("dictsort", "{{ {'a': ns.x, 'b': ns.y}|dictsort|length }}")]:
    case(f"built_deep_{name}", DEEP_BUILD + tail)
SELF_BUILD = "{% set l = [1] %}{% set _ = l.append(l) %}{% set m = [1] %}{% set _ = m.append(m) %}"
for name, tail in [("print", "{{ l }}"), ("json", "{{ l|tojson }}"), ("eq_same", "{{ l == l }}"),
                   ("eq_other", "{{ l == m }}"), ("in_same", "{{ l in [l] }}"), ("in_other", "{{ l in [m] }}"),
                   ("sort_same", "{{ [l, l]|sort|length }}"), ("sort_other", "{{ [l, m]|sort|length }}"),
                   ("length", "{{ l|length }}"), ("first", "{{ l|first }}"), ("join", "{{ l|join(',') }}"),
                   ("string", "{{ l|string }}"), ("dict", "{% set d = {} %}{% set _ = d.update({'d': d}) %}{{ d }}"),
                   ("recursive_loop", "{% for x in l recursive %}{% if x is iterable %}{{ loop(x) }}{% endif %}{% endfor %}")]:
    case(f"built_self_{name}", SELF_BUILD + tail)

# --- Nesting in the template text. ---
for n in (150, 201, 10000, 100000):
    case(f"parens_{n}", "{{ " + "(" * n + "1" + ")" * n + " }}")
    case(f"list_literal_{n}", "{{ " + "[" * n + "]" * n + " }}")
for n in (201, 50000):
    case(f"unary_{n}", "{{ " + "-" * n + "1 }}")
    case(f"not_{n}", "{{ " + "not " * n + "1 }}")
    case(f"if_{n}", "{% if 1 %}" * n + "x" + "{% endif %}" * n)
    case(f"for_{n}", "{% for i in [1] %}" * n + "x" + "{% endfor %}" * n)
    case(f"dict_literal_{n}", "{{ " + "{'a': " * n + "1" + "}" * n + " }}")
case("attr_chain", "{{ x" + ".a" * 100000 + " }}", "{'x': {}}")
case("filter_chain", "{{ 1" + "|string" * 100000 + " }}")
case("plus_chain", "{{ 1" + " + 1" * 200000 + " }}", expected="200001")
# Jinja2 compiles these in seconds (over its 10 s alarm on a loaded machine): they state the output.
case("concat_chain", "{{ 'a'" + " ~ 'a'" * 200000 + " }}", expected="a" * 200001)
case("call_chain", "{{ range" + "(1)" * 1000 + " }}")
case("macro_recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
case("macro_mutual", "{% macro f(n) %}{{ g(n) }}{% endmacro %}{% macro g(n) %}{{ f(n) }}{% endmacro %}{{ f(0) }}")
case("caller_recursion", "{% macro f() %}{{ caller() }}{% endmacro %}{% macro g(n) %}{% call f() %}{{ g(n + 1) }}{% endcall %}{% endmacro %}{{ g(0) }}")
case("macro_deep_ok", "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% else %}done{% endif %}{% endmacro %}{{ f(150) }}")
case("recursive_loop_deep", "{% for x in d recursive %}{{ loop(x.c) }}{% endfor %}",
     "{'d': [deep_dict(500, [])] }")
case("unterminated_print", "{{ x ")
case("unterminated_block", "{% if x %}")
case("unterminated_string", "{{ 'abc }}")
case("unterminated_comment", "{# abc")
case("unterminated_raw", "{% raw %}abc")
case("stray_end", "{% endfor %}")
case("bad_tag", "{% frobnicate %}")
case("nul_bytes", "a\x00b{{ 'c\x00d' }}")
case("lone_surrogate_in_context", "{{ x }}", "{'x': 'a\\ud800b'}")
case("long_name", "{{ " + "a" * 1000000 + " }}")
case("many_blocks", "{% if 1 %}x{% endif %}" * 100000, expected="x" * 100000)
case("huge_literal_list", "{{ [" + "1," * 300000 + "]|length }}", expected="300000")
case("huge_int_literal", "{{ 99999999999999999999999999999 }}")
case("huge_float_literal", "{{ 1e999 }}")
case("many_macros", "".join(f"{{% macro m{i}() %}}{i}{{% endmacro %}}" for i in range(5000)) + "{{ m4999() }}")

# --- Memory: each builds far more than 64 MiB, or exactly what Jinja2 builds when small. ---
for name, template in [
    ("repeat_string", "{{ 'x' * 10000000000 }}"),
    ("repeat_list", "{{ [1] * 10000000000 }}"),
    ("repeat_nested", "{{ ([[1] * 100000] * 100000)|length }}"),
    ("extend_doubling", "{% set l = [1, 2, 3, 4, 5, 6, 7, 8] %}{% for i in range(40) %}{% set _ = l.extend(l) %}{% endfor %}"),
    ("append_strings", "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set _ = ns.l.append('x' * 1000000) %}{% endfor %}"),
    ("join_large", "{{ (range(100000)|list * 100)|join('xxxxxxxxxx')|length }}"),
    ("split_large", "{% set s = 'a ' * 30000000 %}{{ s.split()|length }}"),
    ("split_sep_large", "{% set s = 'a,' * 30000000 %}{{ s.split(',')|length }}"),
    ("list_of_string", "{% set s = 'a' * 60000000 %}{{ s|list|length }}"),
    ("batch_large", "{{ (range(100000)|list * 100)|batch(1)|list|length }}"),
    ("format_method_large", "{{ '{}{}'.format('a' * 60000000, 'b' * 60000000)|length }}"),
    ("format_filter_large", "{{ '%s%s'|format('a' * 60000000, 'b' * 60000000)|length }}"),
    ("mod_mapping_large", "{{ ('%(a)s%(a)s' % {'a': 'x' * 60000000})|length }}"),
    ("precision_huge", "{{ ('%.999999999f' % 1.5)|length }}"),
    ("width_huge", "{{ ('%999999999d' % 1)|length }}"),
    ("format_width_huge", "{{ '{:>999999999}'.format(1)|length }}"),
    ("center_huge", "{{ 'x'|center(1000000000)|length }}"),
    ("center_2m", "{{ 'x'|center(2000000)|length }}"),
    ("ljust_huge", "{{ 'x'.ljust(1000000000)|length }}"),
    ("zfill_huge", "{{ '1'.zfill(1000000000)|length }}"),
    ("indent_huge", "{{ ('a\\n' * 1000)|indent(1000000)|length }}"),
    ("indent_width_string", "{{ ('a\\n' * 100000)|indent('x' * 10000)|length }}"),
    ("replace_growth", "{{ ('a' * 10000000).replace('a', 'bbbbbbbbbb')|length }}"),
    ("replace_empty", "{{ ('a' * 10000000).replace('', 'xx')|length }}"),
    ("wordwrap_large", "{{ ('word ' * 10000000)|wordwrap(5)|length }}"),
    ("range_list", "{{ range(100000000)|list|length }}"),
    ("dict_growth", "{% set d = {} %}{% for i in range(100000) %}{% set _ = d.update({i|string * 1000: i}) %}{% endfor %}{{ d|length }}"),
    ("items_large", "{{ x.items()|list|length }}"),
    ("tojson_indent_large", "{{ (range(100000)|list * 30)|tojson(indent=100)|length }}"),
    ("string_concat_loop", "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"),
    ("sum_strings", "{{ ['x' * 1000000] * 1000|sum(start='')|length }}"),
    ("map_large", "{{ (range(100000)|list * 100)|map('string')|list|length }}"),
    ("slice_large", "{{ (range(100000)|list * 100)|slice(3)|list|length }}"),
    ("title_large", "{{ ('ab ' * 30000000)|title|length }}"),
    ("escape_growth", "{{ ('<' * 20000000)|e|length }}"),
    ("urlencode_growth", "{{ ('<' * 30000000)|urlencode|length }}"),
    ("truncate_ok", "{{ ('word ' * 100)|truncate(20) }}"),
]:
    case(f"memory_{name}", template, "{'x': {str(i): i for i in range(200000)}}" if "items" in name else "{}")

# --- Time: loops, quadratic algorithms and long strings against the 2 s render budget. ---
for name, template in [
    ("empty_loop", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"),
    ("nested_loops_output", "{% for i in range(100000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}"),
    ("unique_many", "{{ range(40000)|map('string')|unique|list|length }}"),
    ("unique_tuples", "{{ [(1, 2), (1, 2), (2, 1)]|unique|list }}"),
    ("find_long_needle", "{% set h = 'a' * 2000000 %}{% set n = 'a' * 1000000 ~ 'b' %}{{ h.find(n) }}"),
    ("in_long_needle", "{% set h = 'a' * 2000000 %}{% set n = 'a' * 1000000 ~ 'b' %}{{ n in h }}"),
    ("count_long", "{% set h = 'ab' * 5000000 %}{{ h.count('ab') }}"),
    ("rfind_long", "{% set h = 'a' * 2000000 %}{{ h.rfind('b' ~ 'a' * 1000000) }}"),
    ("replace_many", "{% set h = 'ab' * 5000000 %}{{ h.replace('ab', 'ba')|length }}"),
    ("loop_over_string", "{% set s = 'x' * 60000000 %}{% for c in s %}{% endfor %}"),
    ("sort_large", "{{ (range(100000)|list * 10)|sort|first }}"),
    ("sort_strings", "{{ range(300000)|map('string')|sort|last }}"),
    ("groupby_large", "{{ (range(1000)|list * 300)|map('string')|list|length }}"),
    ("while_like_recursion", "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}"),
    ("cycler_spin", "{% set c = cycler(1, 2) %}{% for i in range(100000) %}{% for j in range(100) %}{% set _ = c.next() %}{% endfor %}{% endfor %}"),
    ("joiner_spin", "{% set j = joiner() %}{% for i in range(100000) %}{% for k in range(100) %}{{ j() }}{% endfor %}{% endfor %}"),
    ("regex_like_split", "{{ ('a' * 5000000).split('aa')|length }}"),
    ("startswith_many", "{% for i in range(100000) %}{% for j in range(100) %}{{ ('a' * 100).startswith('b') }}{% endfor %}{% endfor %}"),
    ("format_loop", "{% for i in range(100000) %}{% for j in range(100) %}{{ '%05d' % j }}{% endfor %}{% endfor %}"),
    ("selectattr_loop", "{% for i in range(100000) %}{{ x|selectattr('a')|list|length }}{% endfor %}"),
    ("reverse_large", "{{ ('a' * 60000000)|reverse|length }}"),
    ("wordcount_large", "{{ ('word ' * 12000000)|wordcount }}"),
    ("loop_length_filter", "{% for i in range(100000) %}{{ (range(1000)|list)|length }}{% endfor %}"),
]:
    case(f"time_{name}", template, "{'x': [{'a': i % 2} for i in range(1000)]}" if "selectattr" in name else "{}")

# --- Arithmetic and conversions at the edges: as Python, or an error. ---
for i, expr in enumerate([
    "2 ** 62", "2 ** 63", "2 ** 64", "2 ** 10000", "(-2) ** 63", "0 ** -1", "0.0 ** -1", "(-8) ** (1/3)",
    f"{INT64_MAX} + 1", f"{INT64_MIN} - 1", f"{INT64_MIN} // -1", f"{INT64_MIN} % -1", f"-({INT64_MIN})",
    f"{INT64_MAX} * 2", f"{INT64_MIN} * -1", "1 / 0", "1 // 0", "1 % 0", "1.0 // 0", "1.5 % 0",
    "round(1.5, -400)", "round(1.5, 400)", "round(2.5)", "round(-0.5)", "1e308 * 10", "-1e308 * 10",
    "(1e308 * 10) - (1e308 * 10)", "'nan'|float", "'inf'|float", "'-inf'|float|int", "'nan'|float|int",
    "1e300|int", "'1e5'|int", "'  42  '|int", "'0x1A'|int(base=16)", "'0b101'|int(base=0)",
    "'99999999999999999999'|int", "'-9223372036854775809'|int", "3.0|round(-1)", "(0.1 + 0.2)",
    "1e16|string", "1e-7|string", "123456789012345678.0", "-0.0", "0.0 == -0.0", "(2 ** 53 + 1)|float|int",
    f"range({INT64_MIN}, {INT64_MAX}, 2 ** 62)|list", f"range({INT64_MIN}, {INT64_MAX})|length",
    f"range({INT64_MAX}, {INT64_MIN}, -(2 ** 62))|list", "range(0, 10, 0)|list", "range(5)[-1]",
    f"range(10)[{INT64_MIN}]", "[1, 2, 3][10 ** 20]", f"'abc'[{INT64_MIN}:{INT64_MAX}]",
    f"[1, 2, 3][::{INT64_MIN}]", "'abc' * -1", "[1] * -5", f"'x' * {INT64_MAX}", "'%d' % 1e308",
    "'%x' % -255", "'%.3e' % 12345.678", "'%c' % 1114112", "'%c' % 65", "'%5.2s|' % 'abc'",
    "'{:,}'.format(1234567)", "'{:e}'.format(1e308)", "'{:.0f}'.format(2.5)", "1 < 'a'", "[1] < ['a']",
    "None + 1", "'a' - 'b'", "[] + {}", "{} | length", "-'a'", "10 ** -2", "4 ** 0.5", "(-4) ** 0.5",
    "1e-320 / 1e10", "(2 ** 62) * 4", "5 // -2", "-5 % 3", "5.5 // 2", "abs(-9223372036854775807 - 1)",
]):
    case(f"arith_{i}", "{{ " + expr + " }}")

# --- Safe strings (Markup) and escaping: byte for byte as Jinja2. ---
for i, (template, context) in enumerate([
    ("{{ ('<b>'|safe + x|tojson) }}", "{'x': {'a': '<\"&\\''}}"),
    ("{{ 'x'|safe + '<' }}", "{}"),
    ("{{ '<a>'|e + '<b>' }}", "{}"),
    ("{{ '%s'|safe % '<a>' }}", "{}"),
    ("{{ ('x'|safe).join(['<', '>']) }}", "{}"),
    ("{{ ('<%s>'|safe) % x }}", "{'x': '<&>'}"),
    ("{{ '<'|e|e }}", "{}"),
    ("{{ ('<'|safe)|e }}", "{}"),
    ("{{ ('a'|safe).replace('a', '<') }}", "{}"),
    ("{{ ('{}'|safe).format('<') }}", "{}"),
    ("{{ '<'|escape|length }}", "{}"),
    ("{{ ('<b>'|safe)|striptags }}", "{}"),
    ("{{ x|e }}", "{'x': ['<', {'a': '>'}]}"),
    ("{{ x|forceescape }}", "{'x': '<&>'}"),
    ("{{ ('<'|safe) * 3 }}", "{}"),
    ("{{ ('<'|safe) ~ '>' }}", "{}"),
    ("{{ ('A<'|safe).lower() }}", "{}"),
]):
    case(f"safe_{i}", template, context)

# --- Wide and large contexts. ---
case("wide_list_sum", "{{ x|sum }}", "{'x': list(range(1000000))}")
case("wide_list_length", "{{ x|length }}", "{'x': list(range(3000000))}")
case("wide_dict_length", "{{ x|length }}", "{'x': {str(i): i for i in range(1000000)}}")
case("wide_dict_dictsort", "{{ (x|dictsort)[0] }}", "{'x': {str(i): i for i in range(300000)}}")
case("wide_dict_tojson", "{{ x|tojson|length }}", "{'x': {str(i): i for i in range(300000)}}")
case("wide_list_print", "{{ x|length }} {{ x[-1] }}", "{'x': ['y' * 100] * 1000000}")
case("big_string_length", "{{ x|length }}", "{'x': 'a' * 50000000}")
case("big_string_upper", "{{ x.upper()|length }}", "{'x': 'a' * 50000000}")
case("big_string_print", "{{ x }}", "{'x': 'a' * 100000000}")
case("many_messages", "{% for m in messages %}{{ m.role }}:{{ m.content }}\n{% endfor %}",
     "{'messages': [{'role': 'user', 'content': str(i)} for i in range(200000)]}")
case("wide_kwargs", "{{ dict(**x)|length }}", "{'x': {f'k{i}': i for i in range(100000)}}")
case("non_string_keys", "{{ x|tojson }}", "{'x': {1: 'a', 2.5: 'b', None: 'c', True: 'd'}}")
case("bytes_value", "{{ x }}", "{'x': b'abc'}")
case("set_value", "{{ x|length }}", "{'x': {1, 2, 3}}")
case("object_value", "{{ x }}", "{'x': object()}")
case("float_nan_context", "{{ x }} {{ x|tojson }}", "{'x': float('nan')}")
case("big_int_context", "{{ x }}", "{'x': 2 ** 100}")
