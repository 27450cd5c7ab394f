// IsValid's walk: each node's Check, built once after compiling, answered with the leaves (a
// type, bounds, an enum, a pattern) checked in the loop over their parent's members or items,
// and the full validator for the nodes whose keywords the Checks do not hold.

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "llmkit/json.h"
#include "schema/program.h"
#include "schema/values.h"

namespace llmkit::internal::schema {
namespace {

// TypeBits by Json::Type, a double counted as a number only (integral doubles are looked at
// when the check wants an integer).
constexpr uint8_t kBitsOf[] = {kNullType,   kBooleanType, kIntegerType | kNumberType,
                               kNumberType, kStringType,  kArrayType,
                               kObjectType};

// The node's keywords fit a kPlain Check.
bool Plain(const Node& n, const SchemaOptions& options) {
  return n.path == Node::Path::kLocal && n.pattern_properties.empty() &&
         n.property_names == nullptr && n.dependent_required.empty() &&
         n.dependent_schemas.empty() && n.contains == nullptr && !n.multiple_of &&
         (n.format.empty() || !options.assert_formats);
}

void Fill(const Node& n, const absl::flat_hash_map<const Node*, const Check*>& of, Check* c) {
  auto check = [&](const Node* node) { return node == nullptr ? nullptr : of.at(node); };
  c->types = n.types;
  if (n.enum_values != nullptr) {
    c->tests |= Check::kEnum;
    c->enum_values = n.enum_values;
    c->enum_only_strings = n.enum_only_strings;
  }
  if (n.const_value != nullptr) {
    c->tests |= Check::kConst;
    c->const_value = n.const_value;
  }
  // minimum and exclusiveMinimum folded into one bound (the tighter; exclusive when the
  // exclusive one is at least the other), the same for the upper bounds.
  if (n.minimum || n.exclusive_minimum) {
    c->tests |= Check::kNumber;
    c->has_lower = true;
    c->lower_exclusive = n.exclusive_minimum && (!n.minimum || *n.exclusive_minimum >= *n.minimum);
    c->lower = c->lower_exclusive ? *n.exclusive_minimum : *n.minimum;
  }
  if (n.maximum || n.exclusive_maximum) {
    c->tests |= Check::kNumber;
    c->has_upper = true;
    c->upper_exclusive = n.exclusive_maximum && (!n.maximum || *n.exclusive_maximum <= *n.maximum);
    c->upper = c->upper_exclusive ? *n.exclusive_maximum : *n.maximum;
  }
  if (n.min_length || n.max_length) {
    c->tests |= Check::kLength;
    c->min_length = n.min_length.value_or(0);
    c->max_length = n.max_length.value_or(std::numeric_limits<int64_t>::max());
  }
  if (n.pattern != nullptr) {
    c->tests |= Check::kPattern;
    c->pattern = n.pattern.get();
  }
  if (n.has_object) {
    c->tests |= Check::kObject;
    for (size_t i = 0; i < n.properties.size(); ++i) {
      c->properties.push_back(
          {n.properties[i].first, of.at(n.properties[i].second), n.required_property[i] != 0});
    }
    c->property_index = &n.property_index;
    if (n.required_in_properties) {
      c->required_count = n.required_properties;
    } else if (!n.required.empty()) {
      c->required_lookup = &n.required;
    }
    if (n.additional_properties != nullptr) {
      if (n.additional_properties->boolean == false) {
        c->closed = true;
      } else {
        c->additional = of.at(n.additional_properties);
      }
    }
    c->min_properties = n.min_properties.value_or(0);
    c->max_properties = n.max_properties.value_or(std::numeric_limits<int64_t>::max());
  }
  if (n.has_array) {
    c->tests |= Check::kArray;
    for (const Node* p : n.prefix_items) c->prefix.push_back(of.at(p));
    c->items = check(n.items);
    c->items_after_prefix = n.items_after_prefix;
    c->min_items = n.min_items.value_or(0);
    c->max_items = n.max_items.value_or(std::numeric_limits<int64_t>::max());
    c->unique_items = n.unique_items;
  }
  if (n.has_combinators) {
    c->tests |= Check::kCombinator;
    for (const Node* s : n.all_of) c->all_of.push_back(of.at(s));
    for (const Node* s : n.any_of) c->any_of.push_back(of.at(s));
    for (const Node* s : n.one_of) c->one_of.push_back(of.at(s));
    c->not_check = check(n.not_schema);
    c->if_check = check(n.if_schema);
    c->then_check = check(n.then_schema);
    c->else_check = check(n.else_schema);
  }
}

// The tests that read only the value (no subschema).
constexpr uint8_t kValueTests =
    Check::kEnum | Check::kConst | Check::kNumber | Check::kLength | Check::kPattern;

class Walk {
 public:
  Walk(const Program& program, Budget* budget) : program_(program), budget_(budget) {}

  // `c` entered at reference depth `depth` (the full validator's count: one per node entered,
  // one per $ref followed).
  [[gnu::always_inline]] bool Accept(const Check* c, const Json& v, int depth) {
    if (c->kind == Check::Kind::kRef) {
      // Each reference followed at depth >= kMaxDepth fails: the last at depth + hops - 1.
      if (depth + c->hops > kMaxDepth) return false;
      depth += c->hops;
      c = c->target;
    }
    if (c->kind != Check::Kind::kPlain) return Other(c, v, depth);
    if (depth >= kMaxDepth) return false;
    const auto type = static_cast<size_t>(v.type());
    if (c->types != 0 && (kBitsOf[type] & c->types) == 0 && !IntegralDouble(c->types, v)) {
      return false;
    }
    const uint8_t tests = c->tests;
    if (tests == 0) return true;
    if ((tests & kValueTests) != 0 && !Value(c, v)) return false;
    return (tests & ~kValueTests) == 0 || Nested(c, v, depth + 1);
  }

 private:
  // A child that is only a type (leaf_types), in its parent's loop at the children's depth.
  [[gnu::always_inline]] static bool Leaf(uint8_t types, const Json& v, int depth) {
    if (depth >= kMaxDepth) return false;
    return (kBitsOf[static_cast<size_t>(v.type())] & types) != 0 || IntegralDouble(types, v);
  }

  static bool IntegralDouble(uint8_t types, const Json& v) {
    if (!v.is_double() || (types & kIntegerType) == 0) return false;
    const double d = v.as_double();
    return std::isfinite(d) && std::floor(d) == d;
  }

  [[gnu::noinline]] bool Other(const Check* c, const Json& v, int depth) {
    switch (c->kind) {
      case Check::Kind::kTrue:
        return true;
      case Check::Kind::kFalse:
        return false;
      default:
        return FullValid(program_, c->node, v, depth, budget_);
    }
  }

  // The keywords on the value itself beyond its type (most leaves stop here), answered where
  // the parent walks its members or items; enum and const out of line.
  [[gnu::always_inline]] static bool Value(const Check* c, const Json& v) {
    const uint8_t tests = c->tests;
    if ((tests & (Check::kEnum | Check::kConst)) != 0 && !Listed(c, v)) return false;
    if (v.is_string()) {
      const std::string& s = v.as_string();
      if ((tests & Check::kLength) && !LengthWithin(s, c->min_length, c->max_length)) return false;
      return (tests & Check::kPattern) == 0 || c->pattern->Search(s);
    }
    if ((tests & Check::kNumber) && v.is_number()) {
      const double x = v.as_double();
      if (c->has_lower && !(c->lower_exclusive ? x > c->lower : x >= c->lower)) return false;
      if (c->has_upper && !(c->upper_exclusive ? x < c->upper : x <= c->upper)) return false;
    }
    return true;
  }

  // enum and const.
  [[gnu::noinline]] static bool Listed(const Check* c, const Json& v) {
    if ((c->tests & Check::kEnum) && !InValues(*c->enum_values, c->enum_only_strings, v)) {
      return false;
    }
    return (c->tests & Check::kConst) == 0 || *c->const_value == v;
  }

  // The keywords that apply subschemas; `depth` is the children's. Each call spends the budget
  // (leaves do not: a call's own work is bounded by the schema, so these calls bound the walk).
  [[gnu::noinline]] bool Nested(const Check* c, const Json& v, int depth) {
    if (!budget_->Spend()) [[unlikely]] {
      return false;
    }
    const uint8_t tests = c->tests;
    if ((tests & Check::kObject) && v.is_object() && !Object(c, v.as_object(), v, depth)) {
      return false;
    }
    if ((tests & Check::kArray) && v.is_array() && !Array(c, v.as_array(), depth)) return false;
    return (tests & Check::kCombinator) == 0 || Combinators(c, v, depth);
  }

  bool Object(const Check* c, const Json::Object& members, const Json& v, int depth) {
    const auto size = static_cast<int64_t>(members.size());
    if (size < c->min_properties || size > c->max_properties) return false;
    if (c->required_lookup != nullptr) {
      for (const std::string& name : *c->required_lookup) {
        if (v.Find(name) == nullptr) return false;
      }
    }
    const size_t count = c->properties.size();
    size_t required = 0;
    size_t next = 0;
    for (const auto& [key, value] : members) {
      const size_t found = FindProperty(c->properties, next, key, *c->property_index,
                                        [](const Check::Property& p) { return p.name; });
      if (found < count) {
        const Check::Property& property = c->properties[found];
        next = found + 1;
        required += property.required;
        if (property.leaf_types != 0 ? !Leaf(property.leaf_types, value, depth)
                                     : !Accept(property.check, value, depth)) {
          return false;
        }
      } else if (c->closed) {
        return false;
      } else if (c->additional != nullptr && !Accept(c->additional, value, depth)) {
        return false;
      }
    }
    return required == c->required_count;
  }

  bool Array(const Check* c, const Json::Array& items, int depth) {
    const auto size = static_cast<int64_t>(items.size());
    if (size < c->min_items || size > c->max_items) return false;
    if (c->unique_items && !ItemsUnique(items)) return false;
    const size_t prefix = std::min(c->prefix.size(), items.size());
    for (size_t i = 0; i < prefix; ++i) {
      if (!Accept(c->prefix[i], items[i], depth)) return false;
    }
    if (c->items != nullptr) {
      const Check* each = c->items;
      const size_t first = c->items_after_prefix ? c->prefix.size() : 0;
      if (c->items_leaf_types != 0) {
        for (size_t i = first; i < items.size(); ++i) {
          if (!Leaf(c->items_leaf_types, items[i], depth)) return false;
        }
      } else {
        for (size_t i = first; i < items.size(); ++i) {
          if (!Accept(each, items[i], depth)) return false;
        }
      }
    }
    return true;
  }

  bool Combinators(const Check* c, const Json& v, int depth) {
    for (const Check* s : c->all_of) {
      if (!Accept(s, v, depth)) return false;
    }
    if (!c->any_of.empty()) {
      bool any = false;
      for (const Check* s : c->any_of) {
        if (Accept(s, v, depth)) {
          any = true;
          break;
        }
      }
      if (!any) return false;
    }
    if (!c->one_of.empty()) {
      int passed = 0;
      for (const Check* s : c->one_of) {
        if (Accept(s, v, depth) && ++passed > 1) return false;
      }
      if (passed != 1) return false;
    }
    if (c->not_check != nullptr && Accept(c->not_check, v, depth)) return false;
    if (c->if_check != nullptr) {
      const Check* branch = Accept(c->if_check, v, depth) ? c->then_check : c->else_check;
      if (branch != nullptr && !Accept(branch, v, depth)) return false;
    }
    return true;
  }

  const Program& program_;
  Budget* budget_;
};

}  // namespace

void BuildChecks(Program* program) {
  program->checks.resize(program->nodes.size());
  absl::flat_hash_map<const Node*, const Check*> of;
  of.reserve(program->nodes.size());
  size_t i = 0;
  for (const Node& n : program->nodes) of[&n] = &program->checks[i++];
  i = 0;
  for (const Node& n : program->nodes) {
    Check* c = &program->checks[i++];
    c->node = &n;
    if (n.boolean.has_value()) {
      c->kind = *n.boolean ? Check::Kind::kTrue : Check::Kind::kFalse;
    } else if (n.path == Node::Path::kRefOnly) {
      // Down the chain of nodes that are only a $ref; a loop of them is the full validator's
      // (it fails at the depth limit).
      const Node* end = n.ref;
      int hops = 1;
      while (end->path == Node::Path::kRefOnly && hops <= static_cast<int>(program->nodes.size())) {
        end = end->ref;
        ++hops;
      }
      if (end->path == Node::Path::kRefOnly) {
        c->kind = Check::Kind::kFull;
      } else {
        c->kind = Check::Kind::kRef;
        c->target = of.at(end);
        c->hops = hops;
      }
    } else if (Plain(n, program->options)) {
      c->kind = Check::Kind::kPlain;
      Fill(n, of, c);
    } else {
      c->kind = Check::Kind::kFull;
    }
  }
  // Children that are nothing but a type, now that every Check is filled.
  auto leaf_types = [](const Check* c) -> uint8_t {
    return c != nullptr && c->kind == Check::Kind::kPlain && c->tests == 0 ? c->types : 0;
  };
  for (Check& c : program->checks) {
    for (Check::Property& p : c.properties) p.leaf_types = leaf_types(p.check);
    c.items_leaf_types = leaf_types(c.items);
  }
  program->root_check = of.at(program->root);
}

bool CheckValid(const Program& program, const Json& instance) {
  Budget budget(instance);
  // A subschema that ran out inside `not` (or a failed `if`) must not turn into a pass.
  return Walk(program, &budget).Accept(program.root_check, instance, 0) && !budget.exhausted();
}

}  // namespace llmkit::internal::schema
