// JSON Schema validation of an instance against a compiled Program, with the annotations
// (evaluated properties and items) that unevaluatedProperties and unevaluatedItems read.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "llmkit/schema.h"
#include "schema/program.h"
#include "schema/uri.h"
#include "schema/values.h"

namespace llmkit::internal::schema {
namespace {

// Which properties (by member index) or items (by index) have been evaluated.
struct Annotations {
  bool all = false;
  std::vector<char> marks;
  void Mark(size_t i, size_t size) {
    if (marks.size() < size) marks.resize(size, 0);
    marks[i] = 1;
  }
  void Merge(const Annotations& other) {
    all = all || other.all;
    if (marks.size() < other.marks.size()) marks.resize(other.marks.size(), 0);
    for (size_t i = 0; i < other.marks.size(); ++i) marks[i] |= other.marks[i];
  }
  bool Evaluated(size_t i) const { return all || (i < marks.size() && marks[i]); }
};

std::string TypeNames(uint8_t bits) {
  static const char* kNames[] = {"null",   "boolean", "integer", "number",
                                 "string", "array",   "object"};
  std::string out;
  for (int i = 0; i < 7; ++i) {
    if (bits & (1 << i)) absl::StrAppend(&out, out.empty() ? "" : ",", kNames[i]);
  }
  return out;
}

// `instance` is one of the node's enum values.
bool InEnum(const Node* n, const Json& instance) {
  return InValues(*n->enum_values, n->enum_only_strings, instance);
}

bool MultipleOf(const Json& value, double divisor) {
  if (value.is_int() && std::floor(divisor) == divisor && divisor < 9.0e15) {
    return value.as_int() % static_cast<int64_t>(divisor) == 0;
  }
  const double q = value.as_double() / divisor;
  if (!std::isfinite(q)) return false;
  return std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
}

std::string Number(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  return absl::StrCat(d);
}

// A failure: with kErrors recorded by Fail (the message built only then), else just false.
#define LLMKIT_SCHEMA_FAIL(keyword, message) (kErrors ? Fail(keyword, message) : false)

// kErrors: collect errors with their locations (Validate) or only answer yes or no (IsValid,
// which stops at the first failure whatever all_errors says, and keeps no locations).
template <bool kErrors>
class Validator {
 public:
  Validator(const Program& program, std::vector<SchemaError>* errors, Budget* budget)
      : program_(program), errors_(errors), all_(program.options.all_errors), budget_(budget) {}

  // When the budget runs out the errors are that one ("validation stopped ..."): what failed
  // after it is the stop, not the instance, and it may have hidden a failure inside `not`.
  bool Run(const Json& instance) {
    const bool valid = Validate(program_.root, instance, nullptr);
    if (!budget_->exhausted()) return valid;
    if constexpr (kErrors) {
      errors_->clear();
      errors_->push_back({std::move(stopped_at_), "", budget_->Message()});
    }
    return false;
  }
  // `node` entered at reference depth `depth`.
  bool RunAt(const Node* node, const Json& instance, int depth) {
    depth_ = depth;
    return Validate(node, instance, nullptr);
  }

 private:
  // Keyword and instance locations are kept only when errors are collected.
  class Keyword {
   public:
    Keyword(Validator& v, std::string_view token) : v_(v) {
      if (!kErrors) return;
      old_ = v_.keyword_.size();
      AppendPointerToken(&v_.keyword_, token);
    }
    Keyword(Validator& v, size_t index) : v_(v) {
      if (!kErrors) return;
      old_ = v_.keyword_.size();
      absl::StrAppend(&v_.keyword_, "/", index);
    }
    ~Keyword() {
      if (kErrors) v_.keyword_.resize(old_);
    }

   private:
    Validator& v_;
    size_t old_ = 0;
  };
  class Instance {
   public:
    Instance(Validator& v, std::string_view token) : v_(v) {
      if (!kErrors) return;
      old_ = v_.instance_.size();
      AppendPointerToken(&v_.instance_, token);
    }
    Instance(Validator& v, size_t index) : v_(v) {
      if (!kErrors) return;
      old_ = v_.instance_.size();
      absl::StrAppend(&v_.instance_, "/", index);
    }
    ~Instance() {
      if (kErrors) v_.instance_.resize(old_);
    }

   private:
    Validator& v_;
    size_t old_ = 0;
  };

  bool Fail(std::string_view keyword, std::string message) {
    if constexpr (kErrors) {
      std::string location = keyword_;
      if (!keyword.empty()) AppendPointerToken(&location, keyword);
      errors_->push_back({instance_, std::move(location), std::move(message)});
    }
    return false;
  }
  size_t Mark() const { return kErrors ? errors_->size() : 0; }
  void Rewind(size_t mark) {
    if constexpr (kErrors) errors_->resize(mark);
  }

  // Validates with `sub`, merging its annotations into `out` when it passes.
  bool Apply(const Node* sub, const Json& instance, Annotations* out) {
    if (out == nullptr) return Validate(sub, instance, nullptr);
    Annotations mine;
    if (!Validate(sub, instance, &mine)) return false;
    out->Merge(mine);
    return true;
  }

  bool Validate(const Node* n, const Json& instance, Annotations* out);
  // Validate for the nodes that need more than their own keywords: boolean schemas, references,
  // unevaluated*, the dynamic scope (out of line, so that Validate stays small).
  [[gnu::noinline]] bool Framed(const Node* n, const Json& instance, Annotations* out);
  // The keywords that read only this instance and its children (not $ref, unevaluated*).
  bool Local(const Node* n, const Json& instance, Annotations* ann);
  bool Assertions(const Node* n, const Json& instance);
  bool Arrays(const Node* n, const Json& instance, Annotations* ann);
  bool Objects(const Node* n, const Json& instance, Annotations* ann);
  bool Combinators(const Node* n, const Json& instance, Annotations* ann);

  const Program& program_;
  std::vector<SchemaError>* errors_;
  // Report every error: only when collecting them (a constant false for IsValid, so its
  // early returns fold).
  bool All() const { return kErrors && all_; }
  const bool all_;
  std::string keyword_, instance_;
  std::vector<const Resource*> scope_;
  int depth_ = 0;
  Budget* budget_;
  bool stopped_ = false;
  std::string stopped_at_;  // The instance location where the budget ran out.
};

template <bool kErrors>
bool Validator<kErrors>::Validate(const Node* n, const Json& instance, Annotations* out) {
  if (!budget_->Spend()) {
    if constexpr (kErrors) {
      if (!stopped_) stopped_at_ = instance_;
      stopped_ = true;
    }
    return false;
  }
  // Yes/no only (Validate keeps the frames for its locations): a node that is only a $ref is its
  // target one level deeper, as through Framed; a node that is only a "type" is its type check.
  if constexpr (!kErrors) {
    if (n->path == Node::Path::kRefOnly) {
      if (depth_ >= kMaxDepth) return false;
      ++depth_;
      const bool valid = Validate(n->ref, instance, out);
      --depth_;
      return valid;
    }
    if (n->type_only != 0 && depth_ < kMaxDepth) return (TypeBits(instance) & n->type_only) != 0;
  }
  // No reference and no unevaluated*: no dynamic scope to keep and no annotations of its own,
  // so its keywords alone (still counted toward the depth: a $ref loop may pass through it).
  if (n->path == Node::Path::kLocal && depth_ < kMaxDepth) {
    ++depth_;
    const bool valid = Local(n, instance, out);
    --depth_;
    return valid;
  }
  return Framed(n, instance, out);
}

template <bool kErrors>
bool Validator<kErrors>::Framed(const Node* n, const Json& instance, Annotations* out) {
  if (n->boolean) return *n->boolean || LLMKIT_SCHEMA_FAIL("", "boolean schema is false");
  if (depth_ >= kMaxDepth)
    return LLMKIT_SCHEMA_FAIL("", "schema references nest too deep (a $ref loop?)");
  ++depth_;
  const bool entered = program_.dynamic_scope && (scope_.empty() || scope_.back() != n->resource);
  if (entered) scope_.push_back(n->resource);
  Annotations local;
  const bool unevaluated = n->unevaluated_items != nullptr || n->unevaluated_properties != nullptr;
  Annotations* ann = unevaluated ? &local : out;
  bool valid = true;
  do {
    if (n->ref != nullptr) {
      Keyword k(*this, "$ref");
      if (!Apply(n->ref, instance, ann)) {
        valid = false;
        if (!All()) break;
      }
    }
    if (n->dynamic_ref != nullptr) {
      const Node* target = n->dynamic_ref;
      if (!n->dynamic_anchor.empty()) {
        for (const Resource* r : scope_) {
          auto it = r->dynamic_anchors.find(n->dynamic_anchor);
          if (it != r->dynamic_anchors.end()) {
            target = it->second;
            break;
          }
        }
      }
      Keyword k(*this, "$dynamicRef");
      if (!Apply(target, instance, ann)) {
        valid = false;
        if (!All()) break;
      }
    }
    if (!Local(n, instance, ann)) {
      valid = false;
      if (!All()) break;
    }
    // Last: they read what every other keyword evaluated.
    if (n->unevaluated_items != nullptr && instance.is_array()) {
      Keyword k(*this, "unevaluatedItems");
      const Json::Array& items = instance.as_array();
      for (size_t i = 0; i < items.size(); ++i) {
        if (local.Evaluated(i)) continue;
        Instance at(*this, i);
        if (!Validate(n->unevaluated_items, items[i], nullptr)) {
          valid = false;
          if (!All()) break;
        }
      }
      if (valid) local.all = true;
    }
    if (n->unevaluated_properties != nullptr && instance.is_object()) {
      Keyword k(*this, "unevaluatedProperties");
      const Json::Object& members = instance.as_object();
      for (size_t i = 0; i < members.size(); ++i) {
        if (local.Evaluated(i)) continue;
        Instance at(*this, members[i].first);
        if (!Validate(n->unevaluated_properties, members[i].second, nullptr)) {
          valid = false;
          if (!All()) break;
        }
      }
      if (valid) local.all = true;
    }
  } while (false);
  if (entered) scope_.pop_back();
  --depth_;
  if (valid && unevaluated && out != nullptr) out->Merge(local);
  return valid;
}

template <bool kErrors>
[[gnu::always_inline]] inline bool Validator<kErrors>::Local(const Node* n, const Json& instance,
                                                             Annotations* ann) {
  bool valid = true;
  if (n->has_assertions && !Assertions(n, instance)) {
    valid = false;
    if (!All()) return false;
  }
  if (n->has_array && instance.is_array() && !Arrays(n, instance, ann)) {
    valid = false;
    if (!All()) return false;
  }
  if (n->has_object && instance.is_object() && !Objects(n, instance, ann)) {
    valid = false;
    if (!All()) return false;
  }
  if (n->has_combinators && !Combinators(n, instance, ann)) valid = false;
  return valid;
}

template <bool kErrors>
bool Validator<kErrors>::Assertions(const Node* n, const Json& instance) {
  bool valid = true;
  auto check = [&](bool ok) {
    valid = valid && ok;
    return valid || All();
  };
  if (n->types != 0 && !(TypeBits(instance) & n->types)) {
    if (!check(LLMKIT_SCHEMA_FAIL("type", "must be " + TypeNames(n->types)))) return false;
  }
  if (n->enum_values != nullptr && !InEnum(n, instance) &&
      !check(LLMKIT_SCHEMA_FAIL("enum", "must be equal to one of the allowed values"))) {
    return false;
  }
  // Json equality is JSON Schema's: 1 == 1.0, true != 1, members in any order.
  if (n->const_value != nullptr && !(*n->const_value == instance)) {
    if (!check(LLMKIT_SCHEMA_FAIL("const", "must be equal to constant"))) return false;
  }
  if (n->has_numeric && instance.is_number()) {
    const double x = instance.as_double();
    if (n->multiple_of && !MultipleOf(instance, *n->multiple_of)) {
      if (!check(
              LLMKIT_SCHEMA_FAIL("multipleOf", "must be multiple of " + Number(*n->multiple_of)))) {
        return false;
      }
    }
    if (n->maximum && !(x <= *n->maximum) &&
        !check(LLMKIT_SCHEMA_FAIL("maximum", "must be <= " + Number(*n->maximum)))) {
      return false;
    }
    if (n->exclusive_maximum && !(x < *n->exclusive_maximum) &&
        !check(
            LLMKIT_SCHEMA_FAIL("exclusiveMaximum", "must be < " + Number(*n->exclusive_maximum)))) {
      return false;
    }
    if (n->minimum && !(x >= *n->minimum) &&
        !check(LLMKIT_SCHEMA_FAIL("minimum", "must be >= " + Number(*n->minimum)))) {
      return false;
    }
    if (n->exclusive_minimum && !(x > *n->exclusive_minimum) &&
        !check(
            LLMKIT_SCHEMA_FAIL("exclusiveMinimum", "must be > " + Number(*n->exclusive_minimum)))) {
      return false;
    }
  }
  if (n->has_string && instance.is_string()) {
    const std::string& s = instance.as_string();
    // Code points counted again for the messages only when a bound fails.
    if ((n->max_length || n->min_length) &&
        !LengthWithin(s, n->min_length.value_or(0),
                      n->max_length.value_or(std::numeric_limits<int64_t>::max()))) {
      const int64_t length = static_cast<int64_t>(CodePoints(s));
      if (n->max_length && length > *n->max_length &&
          !check(LLMKIT_SCHEMA_FAIL("maxLength", absl::StrCat("must NOT have more than ",
                                                              *n->max_length, " characters")))) {
        return false;
      }
      if (n->min_length && length < *n->min_length &&
          !check(LLMKIT_SCHEMA_FAIL("minLength", absl::StrCat("must NOT have fewer than ",
                                                              *n->min_length, " characters")))) {
        return false;
      }
    }
    if (n->pattern != nullptr && !n->pattern->Search(s) &&
        !check(
            LLMKIT_SCHEMA_FAIL("pattern", "must match pattern \"" + n->pattern->source + "\""))) {
      return false;
    }
    if (!n->format.empty() && program_.options.assert_formats && !FormatValid(n->format, s) &&
        !check(LLMKIT_SCHEMA_FAIL("format", "must match format \"" + n->format + "\""))) {
      return false;
    }
  }
  return valid;
}

template <bool kErrors>
bool Validator<kErrors>::Arrays(const Node* n, const Json& instance, Annotations* ann) {
  const Json::Array& items = instance.as_array();
  bool valid = true;
  auto check = [&](bool ok) {
    valid = valid && ok;
    return valid || All();
  };
  const int64_t size = static_cast<int64_t>(items.size());
  if (n->max_items && size > *n->max_items &&
      !check(LLMKIT_SCHEMA_FAIL(
          "maxItems", absl::StrCat("must NOT have more than ", *n->max_items, " items")))) {
    return false;
  }
  if (n->min_items && size < *n->min_items &&
      !check(LLMKIT_SCHEMA_FAIL(
          "minItems", absl::StrCat("must NOT have fewer than ", *n->min_items, " items")))) {
    return false;
  }
  if (n->unique_items) {
    for (size_t i = 1; i < items.size() && valid; ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (SameValue(items[i], items[j])) {
          if (!check(LLMKIT_SCHEMA_FAIL("uniqueItems",
                                        absl::StrCat("must NOT have duplicate items (items ## ", j,
                                                     " and ", i, " are identical)")))) {
            return false;
          }
          break;
        }
      }
    }
  }
  const size_t prefix = std::min(n->prefix_items.size(), items.size());
  if (prefix > 0) {
    Keyword k(*this, n->prefix_keyword);
    for (size_t i = 0; i < prefix; ++i) {
      Keyword index(*this, i);
      Instance at(*this, i);
      if (!check(Validate(n->prefix_items[i], items[i], nullptr))) return false;
      if (ann != nullptr) ann->Mark(i, items.size());
    }
  }
  if (n->items != nullptr) {
    Keyword k(*this, n->items_keyword);
    const size_t first = n->items_after_prefix ? n->prefix_items.size() : 0;
    for (size_t i = first; i < items.size(); ++i) {
      Instance at(*this, i);
      if (!check(Validate(n->items, items[i], nullptr))) return false;
    }
    if (ann != nullptr && first < items.size()) ann->all = true;
  }
  if (n->contains != nullptr) {
    int64_t matches = 0;
    {
      Keyword k(*this, "contains");
      const size_t mark = Mark();
      for (size_t i = 0; i < items.size(); ++i) {
        Instance at(*this, i);
        if (Validate(n->contains, items[i], nullptr)) {
          ++matches;
          if (ann != nullptr) ann->Mark(i, items.size());
        }
      }
      Rewind(mark);
    }
    const int64_t least = n->min_contains.value_or(1);
    if (matches < least && !check(LLMKIT_SCHEMA_FAIL(
                               n->min_contains ? "minContains" : "contains",
                               absl::StrCat("must contain at least ", least, " valid item(s)")))) {
      return false;
    }
    if (n->max_contains && matches > *n->max_contains &&
        !check(LLMKIT_SCHEMA_FAIL(
            "maxContains",
            absl::StrCat("must contain at most ", *n->max_contains, " valid item(s)")))) {
      return false;
    }
  }
  return valid;
}

template <bool kErrors>
bool Validator<kErrors>::Objects(const Node* n, const Json& instance, Annotations* ann) {
  const Json::Object& members = instance.as_object();
  bool valid = true;
  auto check = [&](bool ok) {
    valid = valid && ok;
    return valid || All();
  };
  const int64_t size = static_cast<int64_t>(members.size());
  if (n->max_properties && size > *n->max_properties &&
      !check(LLMKIT_SCHEMA_FAIL(
          "maxProperties",
          absl::StrCat("must NOT have more than ", *n->max_properties, " properties")))) {
    return false;
  }
  if (n->min_properties && size < *n->min_properties &&
      !check(LLMKIT_SCHEMA_FAIL(
          "minProperties",
          absl::StrCat("must NOT have fewer than ", *n->min_properties, " properties")))) {
    return false;
  }
  // Yes/no only: the required properties are counted in the member loop below.
  const bool count_required = !kErrors && n->required_in_properties;
  size_t required_seen = 0;
  for (size_t r = 0; r < (count_required ? 0 : n->required.size()); ++r) {
    const std::string& name = n->required[r];
    if (instance.Find(name) == nullptr &&
        !check(LLMKIT_SCHEMA_FAIL("required", "must have required property '" + name + "'"))) {
      return false;
    }
  }
  for (const auto& [name, needed] : n->dependent_required) {
    if (instance.Find(name) == nullptr) continue;
    for (const std::string& other : needed) {
      if (instance.Find(other) == nullptr &&
          !check(LLMKIT_SCHEMA_FAIL(
              n->dependent_required_keyword,
              "must have property '" + other + "' when property '" + name + "' is present"))) {
        return false;
      }
    }
  }
  const bool per_member = !n->properties.empty() || !n->pattern_properties.empty() ||
                          n->additional_properties != nullptr || n->property_names != nullptr;
  if (per_member) {
    size_t next = 0;
    const size_t properties = n->properties.size();
    const size_t count = members.size();
    for (size_t i = 0; i < count; ++i) {
      const auto& [key, value] = members[i];
      bool matched = false;
      if (properties > 0) {
        const Node* sub = nullptr;
        const size_t found =
            FindProperty(n->properties, next, key, n->property_index,
                         [](const auto& p) -> std::string_view { return p.first; });
        if (found < properties) {
          sub = n->properties[found].second;
          next = found + 1;
          required_seen += n->required_property[found];
        }
        if (sub != nullptr) {
          matched = true;
          Keyword k(*this, "properties");
          Keyword name(*this, key);
          Instance at(*this, key);
          if (!check(Validate(sub, value, nullptr))) return false;
        }
      }
      for (const auto& [pattern, sub] : n->pattern_properties) {
        if (!pattern.Search(key)) continue;
        matched = true;
        Keyword k(*this, "patternProperties");
        Keyword name(*this, pattern.source);
        Instance at(*this, key);
        if (!check(Validate(sub, value, nullptr))) return false;
      }
      if (!matched && n->additional_properties != nullptr) {
        matched = true;
        Keyword k(*this, "additionalProperties");
        Instance at(*this, key);
        if (n->additional_properties->boolean == false) {
          if (!check(LLMKIT_SCHEMA_FAIL("", "must NOT have additional properties"))) return false;
        } else if (!check(Validate(n->additional_properties, value, nullptr))) {
          return false;
        }
      }
      if (matched && ann != nullptr) ann->Mark(i, members.size());
      if (n->property_names != nullptr) {
        Keyword k(*this, "propertyNames");
        Json name(key);
        const size_t mark = Mark();
        if (!Validate(n->property_names, name, nullptr)) {
          Rewind(mark);
          if (!check(LLMKIT_SCHEMA_FAIL("", "property name '" + key + "' is invalid")))
            return false;
        }
      }
    }
  }
  if (count_required && required_seen != n->required_properties) return false;
  for (const auto& [name, sub] : n->dependent_schemas) {
    if (instance.Find(name) == nullptr) continue;
    Keyword k(*this, n->dependent_schemas_keyword);
    Keyword key(*this, name);
    if (!check(Apply(sub, instance, ann))) return false;
  }
  return valid;
}

template <bool kErrors>
bool Validator<kErrors>::Combinators(const Node* n, const Json& instance, Annotations* ann) {
  bool valid = true;
  auto check = [&](bool ok) {
    valid = valid && ok;
    return valid || All();
  };
  for (size_t i = 0; i < n->all_of.size(); ++i) {
    Keyword k(*this, "allOf");
    Keyword index(*this, i);
    if (!check(Apply(n->all_of[i], instance, ann))) return false;
  }
  if (!n->any_of.empty()) {
    const size_t mark = Mark();
    bool any = false;
    for (size_t i = 0; i < n->any_of.size(); ++i) {
      Keyword k(*this, "anyOf");
      Keyword index(*this, i);
      if (Apply(n->any_of[i], instance, ann)) {
        any = true;
        if (ann == nullptr) break;  // Annotations need every branch that passes.
      }
    }
    if (any) {
      Rewind(mark);
    } else if (!check(LLMKIT_SCHEMA_FAIL("anyOf", "must match a schema in anyOf"))) {
      return false;
    }
  }
  if (!n->one_of.empty()) {
    const size_t mark = Mark();
    int passed = 0;
    Annotations chosen;
    for (size_t i = 0; i < n->one_of.size() && passed < 2; ++i) {
      Keyword k(*this, "oneOf");
      Keyword index(*this, i);
      Annotations mine;
      if (Validate(n->one_of[i], instance, ann != nullptr ? &mine : nullptr)) {
        ++passed;
        chosen = std::move(mine);
      }
    }
    if (passed == 1) {
      Rewind(mark);
      if (ann != nullptr) ann->Merge(chosen);
    } else {
      if (passed > 1) Rewind(mark);
      if (!check(LLMKIT_SCHEMA_FAIL("oneOf", "must match exactly one schema in oneOf")))
        return false;
    }
  }
  if (n->not_schema != nullptr) {
    const size_t mark = Mark();
    bool passed;
    {
      Keyword k(*this, "not");
      passed = Validate(n->not_schema, instance, nullptr);
    }
    Rewind(mark);
    if (passed && !check(LLMKIT_SCHEMA_FAIL("not", "must NOT be valid"))) return false;
  }
  if (n->if_schema != nullptr) {
    const size_t mark = Mark();
    bool passed;
    {
      Keyword k(*this, "if");
      passed = Apply(n->if_schema, instance, ann);
    }
    Rewind(mark);
    const Node* branch = passed ? n->then_schema : n->else_schema;
    if (branch != nullptr) {
      Keyword k(*this, passed ? "then" : "else");
      if (!Apply(branch, instance, ann)) {
        if (!check(LLMKIT_SCHEMA_FAIL(
                "", std::string("must match \"") + (passed ? "then" : "else") + "\" schema"))) {
          return false;
        }
      }
    }
  }
  return valid;
}

}  // namespace

bool FullValid(const Program& program, const Node* node, const Json& instance, int depth,
               Budget* budget) {
  Validator<false> v(program, nullptr, budget);
  return v.RunAt(node, instance, depth);
}

bool Budget::Extend() {
  if (values_ == 0) {
    std::vector<const Json*> pending = {&instance_};
    while (!pending.empty()) {
      const Json* v = pending.back();
      pending.pop_back();
      ++values_;
      if (v->is_array()) {
        for (const Json& item : v->as_array()) pending.push_back(&item);
      } else if (v->is_object()) {
        for (const auto& member : v->as_object()) pending.push_back(&member.second);
      }
    }
    limit_ = std::max(limit_, kEvaluationsPerValue * values_);
    if (spent_ <= limit_) return true;
  }
  exhausted_ = true;
  return false;
}

std::string Budget::Message() const {
  return absl::StrCat("validation stopped after ", limit_,
                      " subschema evaluations for an instance of ", values_,
                      values_ == 1 ? " value" : " values", ": the schema branches exponentially");
}

}  // namespace llmkit::internal::schema

#undef LLMKIT_SCHEMA_FAIL

namespace llmkit {

absl::StatusOr<JsonSchema> JsonSchema::Compile(const Json& schema, const SchemaOptions& options) {
  absl::StatusOr<std::shared_ptr<const internal::schema::Program>> program =
      internal::schema::CompileProgram(schema, options);
  if (!program.ok()) return program.status();
  return JsonSchema(*std::move(program));
}

absl::StatusOr<JsonSchema> JsonSchema::Compile(std::string_view schema_text,
                                               const SchemaOptions& options) {
  absl::StatusOr<Json> schema = Json::Parse(schema_text);
  if (!schema.ok()) return schema.status();
  return Compile(*schema, options);
}

bool JsonSchema::IsValid(const Json& instance) const {
  return internal::schema::CheckValid(*program_, instance);
}

std::vector<SchemaError> JsonSchema::Validate(const Json& instance) const {
  std::vector<SchemaError> errors;
  internal::schema::Budget budget(instance);
  internal::schema::Validator<true> v(*program_, &errors, &budget);
  v.Run(instance);
  return errors;
}

}  // namespace llmkit
