// JSON Schema compilation: reads every subschema into a Node, registers schema resources and
// anchors, and resolves $ref and $dynamicRef (fetching remote documents only through the
// caller's resolver).

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"
#include "schema/program.h"
#include "schema/uri.h"

namespace llmkit::internal::schema {
namespace {

absl::Status Bad(const std::string& location, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("schema at '", location, "': ", internal::ToAbsl(what)));
}

std::string At(const std::string& location, std::string_view token) {
  std::string out = location;
  AppendPointerToken(&out, token);
  return out;
}

std::optional<SchemaDraft> DraftOf(const Json& schema) {
  const Json* uri = schema.Find("$schema");
  if (uri == nullptr || !uri->is_string()) return std::nullopt;
  const std::string& s = uri->as_string();
  if (absl::StrContains(s, "draft-07") || absl::StrContains(s, "draft-06") ||
      absl::StrContains(s, "draft-04")) {
    return SchemaDraft::kDraft7;
  }
  if (absl::StrContains(s, "2020-12") || absl::StrContains(s, "2019-09")) {
    return SchemaDraft::kDraft2020_12;
  }
  return std::nullopt;
}

bool IsSchema(const Json& j) { return j.is_object() || j.is_bool(); }

// A non-negative integer (2.0 counts, as the drafts allow).
std::optional<int64_t> Count(const Json& j) {
  if (j.is_int() && j.as_int() >= 0) return j.as_int();
  if (j.is_double() && j.as_double() >= 0 && std::floor(j.as_double()) == j.as_double() &&
      j.as_double() < 9.2e18) {
    return static_cast<int64_t>(j.as_double());
  }
  return std::nullopt;
}

class Compiler {
 public:
  Compiler(Program* program) : p_(*program) {}

  absl::Status AddDocument(const Json* document, const std::string& uri) {
    Resource& res =
        NewResource(uri, document, DraftOf(*document).value_or(p_.options.default_draft));
    LLMKIT_ASSIGN_OR_RETURN(Node * node, CompileNode(document, &res, res.draft, ""));
    if (p_.root == nullptr) p_.root = node;
    return absl::OkStatus();
  }

  absl::Status ResolveAll() {
    for (size_t i = 0; i < pending_.size(); ++i) {
      Pending ref = pending_[i];  // A copy: resolving may add to pending_.
      LLMKIT_ASSIGN_OR_RETURN(Node * target, Resolve(ref));
      ref.node->ref_location = ref.location;
      if (ref.dynamic) {
        ref.node->dynamic_ref = target;
        std::string fragment = FragmentOf(ref.uri);
        Resource* res = by_uri_[WithoutFragment(ref.uri)];
        if (!fragment.empty() && fragment[0] != '/') {
          auto it = res->dynamic_anchors.find(fragment);
          if (it != res->dynamic_anchors.end() && it->second == target) {
            ref.node->dynamic_anchor = fragment;
          }
        }
      } else {
        ref.node->ref = target;
      }
    }
    return absl::OkStatus();
  }

 private:
  struct Pending {
    Node* node;
    std::string uri;  // Absolute.
    bool dynamic;
    std::string location;
  };

  Resource& NewResource(const std::string& uri, const Json* root, SchemaDraft draft) {
    Resource& res = p_.resources.emplace_back();
    res.uri = uri;
    res.root = root;
    res.draft = draft;
    by_uri_.try_emplace(uri, &res);
    return res;
  }

  absl::StatusOr<Node*> Resolve(const Pending& ref) {
    const std::string uri = WithoutFragment(ref.uri);
    auto found = by_uri_.find(uri);
    if (found == by_uri_.end()) {
      if (!p_.options.resolver) {
        return Bad(ref.location, absl::StrCat("cannot resolve '", ref.uri,
                                              "': no schema has that URI and no resolver is set"));
      }
      absl::StatusOr<Json> remote = p_.options.resolver(uri);
      if (!remote.ok()) {
        return Bad(ref.location,
                   absl::StrCat("cannot resolve '", ref.uri, "': ", remote.status().message()));
      }
      const Json* document = &p_.documents.emplace_back(*std::move(remote));
      LLMKIT_RETURN_IF_ERROR(AddDocument(document, uri));
      found = by_uri_.find(uri);
    }
    Resource* res = found->second;
    const std::string fragment = FragmentOf(ref.uri);
    if (fragment.empty()) return CompileNode(res->root, res, res->draft, ref.location);
    if (fragment[0] == '/') {
      std::optional<std::vector<std::string>> tokens = PointerTokens(fragment);
      if (!tokens) return Bad(ref.location, absl::StrCat("bad JSON Pointer in '", ref.uri, "'"));
      const Json* at = res->root;
      for (const std::string& token : *tokens) {
        const Json* next = nullptr;
        if (at->is_object()) {
          next = at->Find(token);
        } else if (at->is_array()) {
          size_t index = 0;
          if (!token.empty() && token.find_first_not_of("0123456789") == std::string::npos) {
            index = std::stoul(token);
            if (index < at->as_array().size()) next = &at->as_array()[index];
          }
        }
        if (next == nullptr) {
          return Bad(ref.location, absl::StrCat("'", ref.uri, "' points to nothing"));
        }
        at = next;
      }
      return CompileNode(at, res, res->draft, ref.location);
    }
    auto anchor = res->anchors.find(fragment);
    if (anchor == res->anchors.end()) {
      return Bad(ref.location, absl::StrCat("no anchor '", fragment, "' in '", uri, "'"));
    }
    return anchor->second;
  }

  absl::StatusOr<Node*> CompileNode(const Json* j, Resource* res, SchemaDraft draft,
                                    const std::string& location) {
    if (auto it = compiled_.find(j); it != compiled_.end()) return it->second;
    if (!IsSchema(*j)) return Bad(location, "a schema must be an object or a boolean");
    Node& n = p_.nodes.emplace_back();
    compiled_[j] = &n;
    n.json = j;
    if (j->is_bool()) {
      n.boolean = j->as_bool();
      n.resource = res;
      n.draft = draft;
      return &n;
    }
    draft = DraftOf(*j).value_or(draft);
    const bool draft7 = draft == SchemaDraft::kDraft7;
    const Json* ref = j->Find("$ref");
    if (const Json* id = j->Find("$id");
        id != nullptr && id->is_string() && !(draft7 && ref != nullptr)) {
      const std::string& text = id->as_string();
      if (draft7 && !text.empty() && text[0] == '#') {
        res->anchors[text.substr(1)] = &n;
      } else {
        std::string uri = WithoutFragment(ResolveUri(res->uri, text));
        if (uri != res->uri) res = &NewResource(uri, j, draft);
        res->draft = draft;
        std::string fragment = FragmentOf(text);
        if (draft7 && !fragment.empty()) res->anchors[fragment] = &n;
      }
    }
    n.resource = res;
    n.draft = draft;
    if (!draft7) {
      if (const Json* a = j->Find("$anchor"); a != nullptr && a->is_string()) {
        res->anchors[a->as_string()] = &n;
      }
      if (const Json* a = j->Find("$dynamicAnchor"); a != nullptr && a->is_string()) {
        res->anchors[a->as_string()] = &n;
        res->dynamic_anchors[a->as_string()] = &n;
      }
    }
    // Subschemas in places no keyword of this draft reads are still compiled, so that their
    // $id and anchors exist for references.
    for (const char* defs : {"$defs", "definitions"}) {
      if (const Json* d = j->Find(defs); d != nullptr && d->is_object()) {
        for (const auto& [name, sub] : d->as_object()) {
          if (IsSchema(sub)) {
            LLMKIT_RETURN_IF_ERROR(
                CompileNode(&sub, res, draft, At(At(location, defs), name)).status());
          }
        }
      }
    }
    if (ref != nullptr) {
      if (!ref->is_string()) return Bad(At(location, "$ref"), "must be a string");
      pending_.push_back({&n, ResolveUri(res->uri, ref->as_string()), false, At(location, "$ref")});
      if (draft7) return &n;  // Draft-07: $ref's siblings are ignored.
    }
    if (!draft7) {
      if (const Json* d = j->Find("$dynamicRef"); d != nullptr) {
        if (!d->is_string()) return Bad(At(location, "$dynamicRef"), "must be a string");
        pending_.push_back(
            {&n, ResolveUri(res->uri, d->as_string()), true, At(location, "$dynamicRef")});
      }
    }
    LLMKIT_RETURN_IF_ERROR(ReadAssertions(*j, &n, location));
    return ReadApplicators(*j, &n, res, draft, location);
  }

  absl::StatusOr<Node*> Sub(const Json& j, const char* keyword, Resource* res, SchemaDraft draft,
                            const std::string& location) {
    return CompileNode(&j, res, draft, At(location, keyword));
  }

  absl::Status SubList(const Json& j, const char* keyword, std::vector<Node*>* out, Resource* res,
                       SchemaDraft draft, const std::string& location) {
    if (!j.is_array() || (j.as_array().empty() && std::string_view(keyword) != "prefixItems" &&
                          std::string_view(keyword) != "items")) {
      return Bad(At(location, keyword), "must be a non-empty array of schemas");
    }
    for (size_t i = 0; i < j.as_array().size(); ++i) {
      LLMKIT_ASSIGN_OR_RETURN(
          Node * sub,
          CompileNode(&j.as_array()[i], res, draft, At(At(location, keyword), std::to_string(i))));
      out->push_back(sub);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Node*> ReadApplicators(const Json& j, Node* n, Resource* res, SchemaDraft draft,
                                        const std::string& location) {
    const bool draft7 = draft == SchemaDraft::kDraft7;
    for (const auto& [key, value] : j.as_object()) {
      const std::string& k = key;
      if (k == "allOf") {
        LLMKIT_RETURN_IF_ERROR(SubList(value, "allOf", &n->all_of, res, draft, location));
      } else if (k == "anyOf") {
        LLMKIT_RETURN_IF_ERROR(SubList(value, "anyOf", &n->any_of, res, draft, location));
      } else if (k == "oneOf") {
        LLMKIT_RETURN_IF_ERROR(SubList(value, "oneOf", &n->one_of, res, draft, location));
      } else if (k == "not") {
        LLMKIT_ASSIGN_OR_RETURN(n->not_schema, Sub(value, "not", res, draft, location));
      } else if (k == "if") {
        LLMKIT_ASSIGN_OR_RETURN(n->if_schema, Sub(value, "if", res, draft, location));
      } else if (k == "then") {
        LLMKIT_ASSIGN_OR_RETURN(n->then_schema, Sub(value, "then", res, draft, location));
      } else if (k == "else") {
        LLMKIT_ASSIGN_OR_RETURN(n->else_schema, Sub(value, "else", res, draft, location));
      } else if (k == "properties" || k == "patternProperties" || k == "dependentSchemas" ||
                 k == "dependencies") {
        if (!value.is_object()) return Bad(At(location, k), "must be an object");
        for (const auto& [name, sub] : value.as_object()) {
          if (k == "dependencies" && sub.is_array()) continue;  // dependentRequired's form.
          LLMKIT_ASSIGN_OR_RETURN(Node * s,
                                  CompileNode(&sub, res, draft, At(At(location, k), name)));
          if (k == "properties") {
            n->property_index[name] = n->properties.size();
            n->properties.emplace_back(name, s);
          } else if (k == "patternProperties") {
            Pattern pattern;
            LLMKIT_RETURN_IF_ERROR(CompilePattern(name, At(At(location, k), name), &pattern));
            n->pattern_properties.emplace_back(std::move(pattern), s);
          } else if ((k == "dependentSchemas") != draft7) {
            n->dependent_schemas.emplace_back(name, s);
            n->dependent_schemas_keyword = draft7 ? "dependencies" : "dependentSchemas";
          }
        }
      } else if (k == "additionalProperties") {
        LLMKIT_ASSIGN_OR_RETURN(n->additional_properties,
                                Sub(value, k.c_str(), res, draft, location));
      } else if (k == "propertyNames") {
        LLMKIT_ASSIGN_OR_RETURN(n->property_names,
                                Sub(value, "propertyNames", res, draft, location));
      } else if (k == "contains") {
        LLMKIT_ASSIGN_OR_RETURN(n->contains, Sub(value, "contains", res, draft, location));
      } else if (k == "prefixItems") {
        std::vector<Node*> prefix;
        LLMKIT_RETURN_IF_ERROR(SubList(value, "prefixItems", &prefix, res, draft, location));
        if (!draft7) n->prefix_items = std::move(prefix);
      } else if (k == "items") {
        if (value.is_array()) {
          std::vector<Node*> prefix;
          LLMKIT_RETURN_IF_ERROR(SubList(value, "items", &prefix, res, draft, location));
          if (draft7) {
            n->prefix_items = std::move(prefix);
            n->prefix_keyword = "items";
          }
        } else {
          LLMKIT_ASSIGN_OR_RETURN(Node * items, Sub(value, "items", res, draft, location));
          if (draft7) {
            n->items = items;
            n->items_keyword = "items";
            n->items_after_prefix = false;
          } else {
            n->items = items;
          }
        }
      } else if (k == "additionalItems") {
        LLMKIT_ASSIGN_OR_RETURN(Node * more, Sub(value, "additionalItems", res, draft, location));
        if (draft7 && j.Find("items") != nullptr && j.Find("items")->is_array()) {
          n->items = more;
          n->items_keyword = "additionalItems";
        }
      } else if (k == "unevaluatedItems") {
        LLMKIT_ASSIGN_OR_RETURN(Node * s, Sub(value, "unevaluatedItems", res, draft, location));
        if (!draft7) n->unevaluated_items = s;
      } else if (k == "unevaluatedProperties") {
        LLMKIT_ASSIGN_OR_RETURN(Node * s,
                                Sub(value, "unevaluatedProperties", res, draft, location));
        if (!draft7) n->unevaluated_properties = s;
      }
    }
    return n;
  }

  absl::Status CompilePattern(const std::string& source, const std::string& location,
                              Pattern* out) {
    absl::StatusOr<std::string> re2 = EcmaToRe2(source);
    if (!re2.ok()) return Bad(location, std::string(re2.status().message()));
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(int64_t{64} << 20);
    auto re = std::make_unique<RE2>(*re2, options);
    if (!re->ok()) return Bad(location, absl::StrCat("bad regular expression: ", re->error()));
    out->source = source;
    out->re = std::move(re);
    out->simple = SimplePattern::Parse(source);
    return absl::OkStatus();
  }

  absl::Status ReadAssertions(const Json& j, Node* n, const std::string& location) {
    const bool draft7 = n->draft == SchemaDraft::kDraft7;
    auto number = [&](const char* key, std::optional<double>* out) -> absl::Status {
      const Json* v = j.Find(key);
      if (v == nullptr) return absl::OkStatus();
      if (!v->is_number()) return Bad(At(location, key), "must be a number");
      *out = v->as_double();
      return absl::OkStatus();
    };
    auto count = [&](const char* key, std::optional<int64_t>* out) -> absl::Status {
      const Json* v = j.Find(key);
      if (v == nullptr) return absl::OkStatus();
      *out = Count(*v);
      if (!*out) return Bad(At(location, key), "must be a non-negative integer");
      return absl::OkStatus();
    };
    if (const Json* t = j.Find("type"); t != nullptr) {
      auto bit = [&](const Json& name) -> absl::Status {
        static const std::pair<const char*, uint8_t> kNames[] = {
            {"null", kNullType},     {"boolean", kBooleanType}, {"integer", kIntegerType},
            {"number", kNumberType}, {"string", kStringType},   {"array", kArrayType},
            {"object", kObjectType}};
        if (name.is_string()) {
          for (const auto& [text, value] : kNames) {
            if (name.as_string() == text) {
              n->types |= value;
              return absl::OkStatus();
            }
          }
        }
        return Bad(At(location, "type"), "must name JSON types (null, boolean, integer, ...)");
      };
      if (t->is_array()) {
        for (const Json& name : t->as_array()) LLMKIT_RETURN_IF_ERROR(bit(name));
        if (n->types == 0) n->types = 0x80;  // "type": [] admits nothing.
      } else {
        LLMKIT_RETURN_IF_ERROR(bit(*t));
      }
    }
    if (const Json* e = j.Find("enum"); e != nullptr) {
      if (!e->is_array()) return Bad(At(location, "enum"), "must be an array");
      n->enum_values = e;
      n->enum_only_strings = true;
      for (const Json& v : e->as_array()) n->enum_only_strings &= v.is_string();
    }
    n->const_value = j.Find("const");
    LLMKIT_RETURN_IF_ERROR(number("multipleOf", &n->multiple_of));
    if (n->multiple_of && !(*n->multiple_of > 0)) {
      return Bad(At(location, "multipleOf"), "must be greater than 0");
    }
    LLMKIT_RETURN_IF_ERROR(number("maximum", &n->maximum));
    LLMKIT_RETURN_IF_ERROR(number("minimum", &n->minimum));
    LLMKIT_RETURN_IF_ERROR(number("exclusiveMaximum", &n->exclusive_maximum));
    LLMKIT_RETURN_IF_ERROR(number("exclusiveMinimum", &n->exclusive_minimum));
    LLMKIT_RETURN_IF_ERROR(count("maxLength", &n->max_length));
    LLMKIT_RETURN_IF_ERROR(count("minLength", &n->min_length));
    LLMKIT_RETURN_IF_ERROR(count("maxItems", &n->max_items));
    LLMKIT_RETURN_IF_ERROR(count("minItems", &n->min_items));
    LLMKIT_RETURN_IF_ERROR(count("maxProperties", &n->max_properties));
    LLMKIT_RETURN_IF_ERROR(count("minProperties", &n->min_properties));
    if (!draft7) {
      LLMKIT_RETURN_IF_ERROR(count("maxContains", &n->max_contains));
      LLMKIT_RETURN_IF_ERROR(count("minContains", &n->min_contains));
    }
    if (const Json* u = j.Find("uniqueItems"); u != nullptr && u->is_bool()) {
      n->unique_items = u->as_bool();
    }
    if (const Json* pattern = j.Find("pattern"); pattern != nullptr) {
      if (!pattern->is_string()) return Bad(At(location, "pattern"), "must be a string");
      n->pattern = std::make_unique<Pattern>();
      LLMKIT_RETURN_IF_ERROR(
          CompilePattern(pattern->as_string(), At(location, "pattern"), n->pattern.get()));
    }
    auto names = [&](const Json& list, const std::string& where,
                     std::vector<std::string>* out) -> absl::Status {
      if (!list.is_array()) return Bad(where, "must be an array of strings");
      for (const Json& name : list.as_array()) {
        if (!name.is_string()) return Bad(where, "must be an array of strings");
        out->push_back(name.as_string());
      }
      return absl::OkStatus();
    };
    if (const Json* r = j.Find("required"); r != nullptr) {
      LLMKIT_RETURN_IF_ERROR(names(*r, At(location, "required"), &n->required));
    }
    const char* dependent = draft7 ? "dependencies" : "dependentRequired";
    if (const Json* d = j.Find(dependent); d != nullptr && d->is_object()) {
      n->dependent_required_keyword = dependent;
      for (const auto& [name, list] : d->as_object()) {
        if (draft7 && !list.is_array()) continue;  // A dependency schema.
        std::vector<std::string> needed;
        LLMKIT_RETURN_IF_ERROR(names(list, At(At(location, dependent), name), &needed));
        n->dependent_required.emplace_back(name, std::move(needed));
      }
    }
    if (const Json* f = j.Find("format"); f != nullptr && f->is_string())
      n->format = f->as_string();
    return absl::OkStatus();
  }

  Program& p_;
  absl::flat_hash_map<const Json*, Node*> compiled_;
  absl::flat_hash_map<std::string, Resource*> by_uri_;
  std::vector<Pending> pending_;
};

// The subschemas `n` applies to the instance it is given itself (not to its members or items),
// its references first: `*references` of them.
std::vector<const Node*> InPlace(const Node& n, const Program& program, size_t* references) {
  std::vector<const Node*> out;
  auto add = [&](const Node* s) {
    if (s != nullptr) out.push_back(s);
  };
  add(n.ref);
  add(n.dynamic_ref);
  if (!n.dynamic_anchor.empty()) {  // Any resource in the dynamic scope may hold the target.
    for (const Resource& r : program.resources) {
      if (auto it = r.dynamic_anchors.find(n.dynamic_anchor); it != r.dynamic_anchors.end()) {
        add(it->second);
      }
    }
  }
  *references = out.size();
  for (const auto* list : {&n.all_of, &n.any_of, &n.one_of}) {
    for (const Node* s : *list) add(s);
  }
  add(n.not_schema);
  add(n.if_schema);
  add(n.then_schema);
  add(n.else_schema);
  for (const auto& [name, s] : n.dependent_schemas) add(s);
  return out;
}

// Refuses a reference that leads back to where it is without descending into the instance
// ({"$ref": "#"}, or through allOf, anyOf, oneOf, not, if/then/else, dependentSchemas): such a
// schema never finishes on an instance that reaches it (2020-12 core, "infinite recursion":
// undefined behavior), and through branching keywords it took exponential time before the depth
// limit stopped it. A depth-first search with its own stack (schemas may be deep).
absl::Status RefuseInPlaceLoops(const Program& program) {
  enum : uint8_t { kNew, kOnPath, kDone };
  absl::flat_hash_map<const Node*, uint8_t> state;
  struct Frame {
    const Node* node;
    std::vector<const Node*> next;
    size_t references = 0;  // next[0, references) are its $ref and $dynamicRef targets.
    size_t i = 0;
  };
  auto frame = [&](const Node* n) {
    Frame f{n, {}};
    f.next = InPlace(*n, program, &f.references);
    return f;
  };
  for (const Node& start : program.nodes) {
    if (state[&start] != kNew) continue;
    std::vector<Frame> path;
    path.push_back(frame(&start));
    state[&start] = kOnPath;
    while (!path.empty()) {
      Frame& top = path.back();
      if (top.i == top.next.size()) {
        state[top.node] = kDone;
        path.pop_back();
        continue;
      }
      const Node* next = top.next[top.i++];
      uint8_t& s = state[next];
      if (s == kOnPath) {
        // The loop is the path from `next` to here; one of its steps is a reference (subschemas
        // alone nest without loops): named by its location.
        for (auto f = path.rbegin(); f != path.rend(); ++f) {
          if (f->i - 1 < f->references) {
            return Bad(f->node->ref_location,
                       "refers back to itself without descending into the instance (a loop "
                       "that never ends on any instance reaching it)");
          }
          if (f->node == next) break;
        }
        return Bad("", "a reference loop without descending into the instance");
      }
      if (s == kNew) {
        s = kOnPath;
        path.push_back(frame(next));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Program>> CompileProgram(const Json& schema,
                                                              const SchemaOptions& options) {
  auto program = std::make_shared<Program>();
  program->options = options;
  const Json* document = &program->documents.emplace_back(schema);
  Compiler compiler(program.get());
  LLMKIT_RETURN_IF_ERROR(compiler.AddDocument(document, ""));
  LLMKIT_RETURN_IF_ERROR(compiler.ResolveAll());
  LLMKIT_RETURN_IF_ERROR(RefuseInPlaceLoops(*program));
  for (Node& n : program->nodes) {
    n.has_assertions = n.types != 0 || n.enum_values != nullptr || n.const_value != nullptr ||
                       n.multiple_of || n.maximum || n.exclusive_maximum || n.minimum ||
                       n.exclusive_minimum || n.max_length || n.min_length ||
                       n.pattern != nullptr || !n.format.empty();
    n.has_array = !n.prefix_items.empty() || n.items != nullptr || n.contains != nullptr ||
                  n.max_items || n.min_items || n.unique_items;
    n.has_object = !n.properties.empty() || !n.pattern_properties.empty() ||
                   n.additional_properties != nullptr || n.property_names != nullptr ||
                   !n.required.empty() || !n.dependent_required.empty() ||
                   !n.dependent_schemas.empty() || n.max_properties || n.min_properties;
    n.has_combinators = !n.all_of.empty() || !n.any_of.empty() || !n.one_of.empty() ||
                        n.not_schema != nullptr || n.if_schema != nullptr;
    n.required_property.assign(n.properties.size(), 0);
    n.required_in_properties = !n.required.empty();
    for (const std::string& name : n.required) {
      size_t i = 0;
      while (i < n.properties.size() && n.properties[i].first != name) ++i;
      if (i == n.properties.size()) {  // Not counted: looked up one by one.
        n.required_in_properties = false;
        n.required_property.assign(n.properties.size(), 0);
        break;
      }
      n.required_property[i] = 1;
    }
    n.required_properties = 0;
    for (char flagged : n.required_property) n.required_properties += flagged;
    n.has_numeric =
        n.multiple_of || n.maximum || n.exclusive_maximum || n.minimum || n.exclusive_minimum;
    n.has_string = n.max_length || n.min_length || n.pattern != nullptr || !n.format.empty();
    if (!n.dynamic_anchor.empty()) program->dynamic_scope = true;
  }
  for (Node& n : program->nodes) {
    const bool plain = !n.boolean && !program->dynamic_scope && n.dynamic_ref == nullptr &&
                       n.unevaluated_items == nullptr && n.unevaluated_properties == nullptr;
    const bool own_keywords = n.has_assertions || n.has_array || n.has_object || n.has_combinators;
    n.path = !plain                              ? Node::Path::kFramed
             : n.ref == nullptr                  ? Node::Path::kLocal
             : n.ref != nullptr && !own_keywords ? Node::Path::kRefOnly
                                                 : Node::Path::kFramed;
    const bool only_type = n.types != 0 && n.enum_values == nullptr && n.const_value == nullptr &&
                           !n.has_numeric && !n.has_string && !n.has_array && !n.has_object &&
                           !n.has_combinators;
    if (n.path == Node::Path::kLocal && only_type) n.type_only = n.types;
  }
  BuildChecks(program.get());
  return std::shared_ptr<const Program>(std::move(program));
}

}  // namespace llmkit::internal::schema
