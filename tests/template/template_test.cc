// Template engine behaviour beyond conformance: limits, strict mode, error positions, loaders,
// the caller's context left untouched, threads, ChatTemplate and f-string prompts.

#include "llmkit/template.h"

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/json.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

Json Parse(std::string_view text) { return *Json::Parse(text); }

absl::StatusOr<std::string> Render(std::string_view source, const Json& context = nullptr,
                                   TemplateOptions options = {}) {
  absl::StatusOr<Template> t = Template::Compile(source, options);
  if (!t.ok()) return t.status();
  return t->Render(context);
}

TEST(TemplateLimits, OutputSizeEndsRunawayRender) {
  TemplateOptions options;
  options.limits.max_output_bytes = 1000;
  absl::StatusOr<std::string> out =
      Render("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}", nullptr, options);
  ASSERT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << out.status();
  EXPECT_NE(out.status().message().find("max_output_bytes"), absl::string_view::npos);
}

TEST(TemplateLimits, LoopIterationsAreCountedAcrossLoops) {
  TemplateOptions options;
  options.limits.max_loop_iterations = 5000;
  // 100 x 100 nested iterations: no single loop is large.
  absl::StatusOr<std::string> out =
      Render("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", nullptr,
             options);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << out.status();
  EXPECT_TRUE(Render("{% for i in range(50) %}{% for j in range(50) %}{% endfor %}{% endfor %}",
                     nullptr, options)
                  .ok());
}

TEST(TemplateLimits, RecursionDepthEndsInfiniteMacroRecursion) {
  absl::StatusOr<std::string> out =
      Render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << out.status();
  // max_recursion_depth, or the stack budget first (sanitizer builds use bigger frames).
  EXPECT_NE(out.status().message().find("recursion"), absl::string_view::npos) << out.status();
}

TEST(TemplateLimits, MemoryLimitStopsDoublingStrings) {
  TemplateOptions options;
  options.limits.max_memory_bytes = 1 << 20;
  absl::StatusOr<std::string> out = Render(
      "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
      "{% endfor %}{{ ns.s | length }}",
      nullptr, options);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << out.status();
  // Lists growing without bound too.
  out = Render(
      "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = ns.l + ns.l %}"
      "{% endfor %}",
      nullptr, options);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << out.status();
}

TEST(TemplateLimits, HugeRepeatsAndRangesFailFast) {
  EXPECT_EQ(Render("{{ 'x' * 10000000000 }}").status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Render("{{ range(1000000000) | length }}").status().code(),
            absl::StatusCode::kResourceExhausted);
  // Repeating nothing many times is instant (libFuzzer found these looping 10^18 times).
  EXPECT_EQ(*Render("[{{ '' * 1000000000000000000 }}]"), "[]");
  EXPECT_EQ(*Render("{{ [] * 1000000000000000000 }}"), "[]");
}

TEST(TemplateLimits, DeepNestingIsRejectedAtCompileTime) {
  std::string deep(5000, '(');
  deep = "{{ " + deep + "1" + std::string(5000, ')') + " }}";
  EXPECT_EQ(Template::Compile(deep).status().code(), absl::StatusCode::kResourceExhausted);
  std::string ifs;
  for (int i = 0; i < 1000; ++i) ifs += "{% if true %}";
  EXPECT_EQ(Template::Compile(ifs).status().code(), absl::StatusCode::kResourceExhausted);
}

// Attribute, item and operator chains nest as deep as they are long; compiling, rendering and
// freeing one 300,000 long must neither crash nor hang (the tree is freed without recursion).
TEST(TemplateLimits, LongChainsCompileRenderAndFree) {
  std::string attrs = "{{ x";
  for (int i = 0; i < 300000; ++i) attrs += ".a";
  attrs += " }}";
  std::string sums = "{{ 'a'";
  for (int i = 0; i < 300000; ++i) sums += " + 'b' + n";
  sums += " }}";
  for (const std::string& source : {attrs, sums}) {
    absl::StatusOr<Template> t = Template::Compile(source);
    ASSERT_TRUE(t.ok()) << t.status();
    absl::StatusOr<std::string> out = t->Render(Json::Parse(R"({"x": {}, "n": "c"})").value());
    if (!out.ok()) {
      EXPECT_TRUE(out.status().code() == absl::StatusCode::kResourceExhausted ||
                  out.status().code() == absl::StatusCode::kInvalidArgument)
          << out.status();
    }
  }
}

TEST(TemplateLimits, SelfReferencingListPrintsAnErrorNotACrash) {
  absl::StatusOr<std::string> out = Render("{% set x = [] %}{% set _ = x.append(x) %}{{ x }}");
  EXPECT_FALSE(out.ok());
  out = Render("{% set x = [] %}{% set _ = x.append(x) %}{{ x | tojson }}");
  EXPECT_FALSE(out.ok());
}

// Comparing, sorting and serializing values too deep or cyclic to finish fails the render (as
// Python raises RecursionError) instead of crashing or answering wrongly; the same object is
// equal to itself without a walk, as Python's containers compare their items.
TEST(TemplateLimits, DeepAndCyclicValuesFailToCompare) {
  const std::string deep =
      "{% set ns = namespace(x=[], y=[]) %}{% for j in range(3) %}{% for i in range(100000) %}"
      "{% set ns.x = [ns.x] %}{% set ns.y = [ns.y] %}{% endfor %}{% endfor %}";
  for (const char* tail : {"{{ ns.x == ns.y }}", "{{ [ns.x, ns.y]|sort|length }}",
                           "{{ ns.x in [ns.y] }}", "{{ ns.x|tojson }}", "{{ ns.x }}"}) {
    absl::StatusOr<std::string> out = Render(deep + tail);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << tail;
    EXPECT_THAT(out.status().message(), ::testing::HasSubstr("deeper than 1000 levels")) << tail;
  }
  EXPECT_EQ(
      *Render(
          deep +
          "{{ ns.x in [ns.x] }} {{ ns.x|length }} {{ {'a': ns.x, 'b': ns.y}|dictsort|length }}"),
      "True 1 2");  // dictsort compares the keys only.
  const std::string cyclic =
      "{% set l = [1] %}{% set _ = l.append(l) %}{% set m = [1] %}{% set _ = m.append(m) %}";
  EXPECT_EQ(*Render(cyclic + "{{ l == l }} {{ l in [l] }} {{ [l, l]|sort|length }}"),
            "True True 2");
  EXPECT_EQ(Render(cyclic + "{{ l == m }}").status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Render(cyclic + "{{ [l, m]|sort }}").status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Render(cyclic + "{{ [l]|unique|list }}").status().message(),
              ::testing::HasSubstr("unhashable type: 'list'"));
}

// A limit refuses; it never cuts a result short. Padding, indenting, tojson's indent and printf
// widths build the whole result up to max_output_bytes, and fail naming the limit past it.
TEST(TemplateLimits, LargeResultsAreWholeOrRefused) {
  EXPECT_EQ(*Render("{{ 'x' | center(2000000) | length }}"), "2000000");
  EXPECT_EQ(*Render("{{ 'ab'.ljust(1500000, 'é') | length }}"), "1500000");
  EXPECT_EQ(*Render("{{ '-5'.zfill(1500000) | length }}"), "1500000");
  EXPECT_EQ(*Render("{{ 'a\nb' | indent(1500000) | length }}"), "1500003");
  EXPECT_EQ(*Render("{{ [[1]] | tojson(indent=100000) | length }}"), "400009");
  EXPECT_EQ(*Render("{{ ('%5000000s' % 'x') | length }}"), "5000000");
  EXPECT_EQ(*Render("{{ ('%.9999999f' % 1.5) | length }}"), "10000001");
  EXPECT_EQ(*Render("{{ '%5s|%-5s|%.2s' % ('é', 'ab', 'héllo') }}"), "    é|ab   |hé");
  TemplateOptions small;
  small.limits.max_output_bytes = 1000;
  for (const char* source :
       {"{{ 'x' | center(2000) }}", "{{ 'x'.rjust(2000) }}", "{{ 'x'.zfill(2000) }}",
        "{{ 'x' | indent(2000) }}", "{{ [[1]] | tojson(indent=600) }}", "{{ '%2000s' % 'x' }}",
        "{{ '%.2000f' % 1.5 }}", "{{ '%.999999999f' % 1.5 }}"}) {
    absl::StatusOr<std::string> out = Render(source, nullptr, small);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << source;
    EXPECT_NE(out.status().message().find("max_output_bytes"), absl::string_view::npos) << source;
  }
}

// Arithmetic at the edges gives Python's result or Python's error, never inf or NaN in its place.
TEST(TemplateArithmetic, EdgesAsPython) {
  EXPECT_EQ(*Render("{{ 1.5 | round(-400) }} {{ -1.5 | round(-400) }} {{ 1.5 | round(400) }}"),
            "0.0 -0.0 1.5");
  EXPECT_EQ(*Render("{{ range(-9223372036854775807 - 1, 9223372036854775807, "
                    "4611686018427387904) | list }}"),
            "[-9223372036854775808, -4611686018427387904, 0, 4611686018427387904]");
  EXPECT_EQ(
      Render("{{ range(-9223372036854775807 - 1, 9223372036854775807) | length }}").status().code(),
      absl::StatusCode::kResourceExhausted);
  for (const char* source : {"{{ 0 ** -1 }}", "{{ 0.0 ** -1 }}", "{{ 10.0 ** 400 }}",
                             "{{ (-8.0) ** 0.5 }}", "{{ 1.5 | round(-400, 'ceil') }}",
                             "{{ 1.5 | round(400, 'floor') }}", "{{ '%d' % (1e300 * 1e300) }}"}) {
    EXPECT_EQ(Render(source).status().code(), absl::StatusCode::kInvalidArgument) << source;
  }
}

// Jinja2's safe strings (markupsafe's Markup), as transformers renders chat templates: a plain
// string meeting a safe one in +, %, join or its methods is HTML-escaped; ~ ignores safety.
TEST(TemplateSafeStrings, EscapeLikeMarkup) {
  Json context = Parse(R"({"x": {"a": "<b>\"q\""}, "s": "<i>", "items": ["<a>", "b&c"]})");
  const std::pair<const char*, const char*> cases[] = {
      {"{{ '...'|safe + x|tojson }}", "...{&#34;a&#34;: &#34;&lt;b&gt;\\&#34;q\\&#34;&#34;}"},
      {"{{ 'x'|safe + '<' }}|{{ '<' + 'x'|safe }}", "x&lt;|&lt;x"},
      {"{{ '<a>'|e + '<b>' }}", "&lt;a&gt;&lt;b&gt;"},
      {"{{ '%s'|safe % '<a>' }}|{{ ('%s %r'|safe) % (s, s) }}",
       "&lt;a&gt;|&lt;i&gt; &#39;&lt;i&gt;&#39;"},
      {"{{ ('x'|safe).join(items) }}", "&lt;a&gt;xb&amp;c"},
      {"{{ 'a' + 'b'|safe + s + 'c' }}|{{ 'a' ~ 'b'|safe ~ s }}", "ab&lt;i&gt;c|ab<i>"},
      {"{{ (s|safe).replace('i', '<u>') }}|{{ (s|safe)[1:] + s }}", "<&lt;u&gt;>|i>&lt;i&gt;"},
      {"{{ [s|safe, s] }}|{{ (s|safe).split('i') }}",
       "[Markup('<i>'), '<i>']|[Markup('<'), Markup('>')]"},
      {"{{ s|e|e }}|{{ s|forceescape|forceescape }}", "&lt;i&gt;|&amp;lt;i&amp;gt;"},
      {"{{ s|safe|upper + s }}|{{ s|safe|title + s }}", "<I>&lt;i&gt;|<I><i>"},
      {"{{ s|safe is escaped }} {{ s is escaped }}", "True False"},
  };
  for (const auto& [source, want] : cases) {
    absl::StatusOr<std::string> out = Render(source, context);
    ASSERT_TRUE(out.ok()) << source << ": " << out.status();
    EXPECT_EQ(*out, want) << source;
  }
}

// Time: limits.max_render_time and the call context's deadline end a long render with
// kDeadlineExceeded (checked inside loops, even empty ones), cancellation with kCancelled.
TEST(TemplateLimits, RenderTimeAndCallContextEndALongRender) {
  const char* slow =
      "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
  TemplateOptions options;
  options.limits.max_loop_iterations = uint64_t{1} << 62;
  options.limits.max_render_time = absl::Milliseconds(50);
  absl::Time start = absl::Now();
  absl::StatusOr<std::string> out = Render(slow, nullptr, options);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDeadlineExceeded) << out.status();
  EXPECT_NE(out.status().message().find("max_render_time"), absl::string_view::npos);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  options.limits.max_render_time = absl::InfiniteDuration();
  absl::StatusOr<Template> t = Template::Compile(slow, options);
  ASSERT_TRUE(t.ok());
  out = t->Render(nullptr, CallContext::WithTimeout(std::chrono::milliseconds(50)));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDeadlineExceeded) << out.status();
  EXPECT_NE(out.status().message().find("call's deadline"), absl::string_view::npos);
  CallContext cancelled;
  cancelled.cancellation = std::make_shared<Cancellation>();
  cancelled.cancellation->Cancel();
  out = t->Render(nullptr, cancelled);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kCancelled) << out.status();
  // Fast work is untouched by the checks.
  EXPECT_EQ(*Render("{% for i in range(3) %}{{ i }}{% endfor %}", nullptr, options), "012");
}

// unique hashes scalars (Python's set) and substring search is linear: inputs that took seconds
// with the quadratic versions finish at once.
TEST(TemplateLimits, UniqueAndFindAreNotQuadratic) {
  EXPECT_EQ(*Render("{{ range(60000) | list | unique | list | length }}"), "60000");
  EXPECT_EQ(*Render("{{ [1, 1.0, true, 'a', 'A', none, none] | unique | list }}"),
            "[1, 'a', None]");
  Json big = Json::MakeObject();
  big.Set("hay", std::string(2000000, 'a'));
  big.Set("needle", std::string(1000000, 'a') + "b");
  EXPECT_EQ(*Render("{{ hay.find(needle) }} {{ needle in hay }} {{ hay.rfind(needle) }} "
                    "{{ hay.count(needle) }} {{ hay.rsplit(needle) | length }}",
                    big),
            "-1 False -1 0 1");
}

TEST(TemplateStrict, NamesTheUndefinedVariable) {
  TemplateOptions strict;
  strict.undefined = UndefinedMode::kStrict;
  absl::StatusOr<std::string> out = Render("Hello\n  {{ user_name }}!", Json::MakeObject(), strict);
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("'user_name' is undefined"), absl::string_view::npos)
      << out.status();
  EXPECT_NE(out.status().message().find("line 2, column 6"), absl::string_view::npos)
      << out.status();
  // Lenient (the default) prints nothing for it.
  EXPECT_EQ(*Render("Hello {{ user_name }}!"), "Hello !");
  // `is defined` and `default` work in both modes.
  EXPECT_EQ(*Render("{{ x is defined }}{{ x | default('d') }}", Json::MakeObject(), strict),
            "Falsed");
}

TEST(TemplateErrors, CompileErrorsCarryLineAndColumn) {
  absl::StatusOr<Template> t = Template::Compile("line one\n{% if x %}\n{{ 1 + }}\n{% endif %}");
  ASSERT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("line 3, column"), absl::string_view::npos) << t.status();
  EXPECT_TRUE(GetByteOffset(t.status()).has_value());
  t = Template::Compile("{% for x in y %}no end");
  EXPECT_NE(t.status().message().find("'endfor'"), absl::string_view::npos) << t.status();
  t = Template::Compile("{% extends 'base.html' %}");
  EXPECT_NE(t.status().message().find("not supported"), absl::string_view::npos) << t.status();
  EXPECT_FALSE(Template::Compile("\xff\xfe{{ x }}").ok());  // invalid UTF-8
}

TEST(TemplateErrors, RaiseExceptionGivesTheTemplatesMessage) {
  absl::StatusOr<std::string> out =
      Render("{% if messages | length == 0 %}{{ raise_exception('need a message') }}{% endif %}",
             Parse(R"({"messages": []})"));
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("need a message"), absl::string_view::npos);
}

TEST(TemplateSafety, NoFileAccessWithoutALoader) {
  absl::StatusOr<std::string> out = Render("{% include '/etc/passwd' %}");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("no loader"), absl::string_view::npos) << out.status();
}

TEST(TemplateSafety, LoaderServesIncludeAndImport) {
  TemplateOptions options;
  options.loader = [](std::string_view name) -> absl::StatusOr<std::string> {
    if (name == "header") return std::string("[{{ title }}]");
    if (name == "macros") return std::string("{% macro shout(s) %}{{ s | upper }}!{% endmacro %}");
    if (name == "self") return std::string("{% include 'self' %}");
    return absl::NotFoundError("no such template");
  };
  Json context = Parse(R"({"title": "T"})");
  EXPECT_EQ(*Render("{% include 'header' %} {% import 'macros' as m %}{{ m.shout('hi') }} "
                    "{% from 'macros' import shout as s %}{{ s('yo') }}"
                    "{% include 'missing' ignore missing %}",
                    context, options),
            "[T] HI! YO!");
  EXPECT_EQ(Render("{% include 'self' %}", context, options).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Render("{% include 'missing' %}", context, options).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(TemplateSafety, ChangingMethodsNeverTouchTheCallersContext) {
  Json context = Parse(R"({"items": [1, 2], "d": {"a": [1]}})");
  const Json before = context;
  EXPECT_EQ(*Render("{% set _ = items.append(3) %}{% set _ = d.a.append(2) %}"
                    "{% set _ = d.update({'b': 1}) %}{{ items }} {{ d }} {{ items | length }}",
                    context),
            "[1, 2, 3] {'a': [1, 2], 'b': 1} 3");
  EXPECT_EQ(context, before);
  // Each render starts from the caller's values again.
  absl::StatusOr<Template> t = Template::Compile("{% set _ = items.pop() %}{{ items }}");
  EXPECT_EQ(*t->Render(context), "[1]");
  EXPECT_EQ(*t->Render(context), "[1]");
}

// {"items": [1, 2], "d": {"a": [1]}, "name": <name>} built as TemplateValues.
void BuildItems(TemplateValues& v, std::string_view name) {
  v.Clear();
  v.BeginObject();
  v.Key("items");
  v.BeginArray();
  v.Int(1);
  v.Int(2);
  v.End();
  v.Key("d");
  v.BeginObject();
  v.Key("a");
  v.BeginArray();
  v.Int(1);
  v.End();
  v.End();
  v.Key("name");
  v.String(name);
  v.End();
}

TEST(TemplateValuesTest, ReadLikeTheSameJsonAndChangesAreUndone) {
  absl::StatusOr<Template> t = Template::Compile(
      "{% set _ = items.append(3) %}{% set _ = d.a.append(2) %}"
      "{% set _ = d.update({'b': name}) %}{{ items }} {{ d }} {{ items | length }}"
      " {{ d | tojson }} {{ name }}");
  ASSERT_TRUE(t.ok());
  std::string name = "Ada \xc3\xa9";  // Viewed, not copied.
  TemplateValues values;
  BuildItems(values, name);
  const std::string expected =
      *t->Render(Parse(R"({"items": [1, 2], "d": {"a": [1]}, "name": "Ada é"})"));
  EXPECT_EQ(expected,
            "[1, 2, 3] {'a': [1, 2], 'b': 'Ada é'} 3 {\"a\": [1, 2], \"b\": \"Ada é\"} Ada é");
  EXPECT_EQ(*t->Render(values), expected);
  EXPECT_EQ(*t->Render(values), expected);  // The first render's appends were undone.
  absl::StatusOr<Template> read = Template::Compile("{{ items }} {{ d }}");
  EXPECT_EQ(*read->Render(values), "[1, 2] {'a': [1]}");
  // Undone on failure too.
  absl::StatusOr<Template> fails = Template::Compile(
      "{% set _ = items.pop() %}{% set _ = d.clear() %}{{ raise_exception('no') }}");
  EXPECT_EQ(fails->Render(values).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*read->Render(values), "[1, 2] {'a': [1]}");
  // Reused after Clear, with no variables.
  values.Clear();
  EXPECT_EQ(*read->Render(values), " ");
}

TEST(TemplateValuesTest, MisuseIsAClearErrorAtRender) {
  absl::StatusOr<Template> t = Template::Compile("{{ x }}");
  auto error = [&](const std::function<void(TemplateValues&)>& build) {
    TemplateValues v;
    build(v);
    absl::StatusOr<std::string> out = t->Render(v);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(out.status().message());
  };
  EXPECT_THAT(error([](TemplateValues& v) {
                v.BeginObject();
                v.Int(1);
                v.End();
              }),
              testing::HasSubstr("without a Key()"));
  EXPECT_THAT(error([](TemplateValues& v) {
                v.BeginObject();
                v.Key("x");
                v.Int(1);
                v.Key("x");
                v.Int(2);
                v.End();
              }),
              testing::HasSubstr("the key \"x\" twice"));
  EXPECT_THAT(error([](TemplateValues& v) { v.BeginArray(); }),
              testing::HasSubstr("top level must be an object"));
  EXPECT_THAT(error([](TemplateValues& v) { v.BeginObject(); }),
              testing::HasSubstr("not closed with End()"));
  EXPECT_THAT(error([](TemplateValues& v) { v.End(); }), testing::HasSubstr("End() without"));
  EXPECT_THAT(error([](TemplateValues& v) {
                v.BeginObject();
                v.Key("x");
                v.End();
              }),
              testing::HasSubstr("Key(\"x\") without a value"));
  EXPECT_THAT(error([](TemplateValues& v) { v.String("x"); }),
              testing::HasSubstr("top level must be an object"));
  EXPECT_THAT(error([](TemplateValues& v) {
                v.BeginObject();
                v.End();
                v.BeginObject();
                v.End();
              }),
              testing::HasSubstr("a second top-level value"));
  // Many keys: duplicates found past the small-object path too.
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("k" + std::to_string(i % 39));
  EXPECT_THAT(error([&](TemplateValues& v) {
                v.BeginObject();
                for (const std::string& k : keys) {
                  v.Key(k);
                  v.Null();
                }
                v.End();
              }),
              testing::HasSubstr("the key \"k0\" twice"));
  TemplateValues ok;
  ok.BeginObject();
  ok.Key("x");
  ok.Double(0.5);
  ok.End();
  EXPECT_EQ(*t->Render(ok), "0.5");
  TemplateValues moved = std::move(ok);
  EXPECT_EQ(*t->Render(moved), "0.5");
  EXPECT_EQ(*t->Render(ok), "");  // A moved-from TemplateValues is empty.
}

TEST(TemplateValuesTest, MemberAndVouchedKeys) {
  absl::StatusOr<Template> t = Template::Compile("{{ m.role }}:{{ m.content }}|{{ m | length }}");
  ASSERT_TRUE(t.ok());
  TemplateValues v;
  v.BeginObject();
  v.Key("m");
  v.BeginObject(2, /*keys_unique=*/true);
  v.Member("role", "user");
  v.Member("content", "hi");
  v.End();
  v.End();
  EXPECT_EQ(*t->Render(v), "user:hi|2");
  // Member is Key then String: its misuse is reported as theirs.
  v.Clear();
  v.BeginObject();
  v.Key("m");
  v.Member("role", "user");
  v.End();
  EXPECT_THAT(std::string(t->Render(v).status().message()),
              testing::HasSubstr("Key(\"m\") without a value"));
  // A caller that vouches for its keys skips the duplicate check (a repeated key reads as its
  // first member); without the vouch the repeat is an error.
  for (bool vouched : {true, false}) {
    v.Clear();
    v.BeginObject();
    v.Key("m");
    v.BeginObject(0, vouched);
    v.Member("role", "first");
    v.Member("role", "second");
    v.Member("content", "x");
    v.End();
    v.End();
    absl::StatusOr<std::string> out = t->Render(v);
    if (vouched) {
      EXPECT_EQ(*out, "first:x|3");
    } else {
      EXPECT_THAT(std::string(out.status().message()), testing::HasSubstr("\"role\" twice"));
    }
  }
}

TEST(TemplateValuesTest, TheLongRenderHookRunsOnceAndOnlyInALongRender) {
  absl::StatusOr<Template> t =
      Template::Compile("{% for i in range(n) %}{{ i % 2 }}{% endfor %}|{{ name }}");
  ASSERT_TRUE(t.ok());
  int calls = 0;
  std::thread::id thread;
  TemplateValues v;
  v.SetLongRenderHook([&] {
    ++calls;
    thread = std::this_thread::get_id();
  });
  auto render = [&](int64_t n) {
    v.Clear();  // Keeps the hook.
    v.BeginObject();
    v.Key("n");
    v.Int(n);
    v.Member("name", "x");
    v.End();
    return *t->Render(v);
  };
  EXPECT_EQ(render(3), "010|x");  // A short render never reaches it.
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(render(100000).size(), 100000u + 2);
  EXPECT_EQ(calls, 1);  // Once, however long the render.
  EXPECT_EQ(thread, std::this_thread::get_id());
  EXPECT_EQ(render(100000).size(), 100000u + 2);
  EXPECT_EQ(calls, 2);  // Once per render.
  v.SetLongRenderHook(nullptr);
  EXPECT_EQ(render(100000).size(), 100000u + 2);
  EXPECT_EQ(calls, 2);
  // A failing render (past max_render_time) after the hook ran still returns its error.
  absl::StatusOr<Template> slow = Template::Compile(
      "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
      TemplateOptions{.limits = {.max_loop_iterations = 1'000'000'000'000,
                                 .max_render_time = absl::Milliseconds(50)}});
  ASSERT_TRUE(slow.ok());
  v.SetLongRenderHook([&] { ++calls; });
  v.Clear();
  v.BeginObject();
  v.End();
  EXPECT_EQ(slow->Render(v).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(calls, 3);
}

TEST(TemplateThreads, ManyThreadsRenderOneTemplate) {
  absl::StatusOr<Template> t = Template::Compile(
      "{% for m in messages %}<|{{ m.role }}|>{{ m.content | trim }}{% if not loop.last %}\n"
      "{% endif %}{% endfor %}{% set ns = namespace(n=0) %}{% for m in messages %}"
      "{% set ns.n = ns.n + 1 %}{% endfor %}|{{ ns.n }}");
  ASSERT_TRUE(t.ok());
  Json context = Parse(R"({"messages": [{"role": "user", "content": " hi "},
                                        {"role": "assistant", "content": "yo"}]})");
  const std::string expected = "<|user|>hi\n<|assistant|>yo|2";
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 2000; ++k) {
        absl::StatusOr<std::string> out = t->Render(context);
        if (!out.ok() || *out != expected) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(TemplateVariables, ListsTheInputs) {
  absl::StatusOr<Template> t = Template::Compile(
      "{% set greeting = 'Hi' %}{{ greeting }} {{ user.name }}{% for d in docs %}{{ d }}{{ "
      "loop.index }}"
      "{% endfor %}{{ range(3) | list }}{{ question }}");
  EXPECT_EQ(t->variables(), (std::vector<std::string>{"user", "docs", "question"}));
}

TEST(ChatTemplateTest, AppliesLikeTransformers) {
  absl::StatusOr<ChatTemplate> ct = ChatTemplate::Compile(
      "{{ bos_token }}{% for m in messages %}\n"
      "  {{ m.role }}: {{ m.content }}{{ eos_token }}\n"
      "{% endfor %}{% if tools %}tools={{ tools | map(attribute='name') | join(',') }}{% endif %}"
      "{% if add_generation_prompt %}assistant:{% endif %}{{ extra_flag | default('') }}",
      {.bos_token = "<s>", .eos_token = "</s>"});
  ASSERT_TRUE(ct.ok()) << ct.status();
  Json messages = Parse(R"([{"role": "user", "content": "hi"}])");
  // lstrip_blocks strips before block tags only: the indentation before {{ stays, as in Jinja2.
  EXPECT_EQ(*ct->Apply(messages), "<s>  user: hi</s>\n");
  EXPECT_EQ(*ct->Apply(messages, Parse(R"([{"name": "f"}, {"name": "g"}])"), true,
                       Parse(R"({"extra_flag": "!", "messages": "ignored"})")),
            "<s>  user: hi</s>\ntools=f,gassistant:!");
  EXPECT_FALSE(ct->Apply(Parse(R"({"role": "user"})")).ok());  // messages must be a list
}

TEST(FStringTemplateTest, FormatsLikeLangChain) {
  absl::StatusOr<FStringTemplate> t =
      FStringTemplate::Compile("Answer {question} using {{context}}: {docs[0]} ({meta.year}) {n}");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->variables(), (std::vector<std::string>{"question", "docs", "meta", "n"}));
  EXPECT_EQ(*t->Render(
                Parse(R"({"question": "why?", "docs": ["d0"], "meta": {"year": 2024}, "n": 1.5})")),
            "Answer why? using {context}: d0 (2024) 1.5");
  absl::StatusOr<std::string> missing = t->Render(Parse(R"({"question": "q"})"));
  EXPECT_NE(missing.status().message().find("missing variable 'docs'"), absl::string_view::npos);
  EXPECT_FALSE(FStringTemplate::Compile("a } b").ok());
  EXPECT_FALSE(FStringTemplate::Compile("a { b").ok());
  EXPECT_FALSE(FStringTemplate::Compile("{x:>10}").ok());
  EXPECT_FALSE(FStringTemplate::Compile("{}").ok());
}

}  // namespace
}  // namespace llmkit
