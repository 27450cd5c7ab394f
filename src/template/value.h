// Runtime values of the template engine. A Value is a small, trivially copyable handle: scalars
// inline, strings as views (into the template source, the caller's context or the render's
// arena), the caller's arrays and objects as pointers into the context (read in place), and
// lists, dicts, macros and the like as pointers to objects the render's Arena owns. Nothing a
// render creates outlives it, so cycles a template builds (a list appended to itself) cost no
// leak.

#ifndef LLMKIT_SRC_TEMPLATE_VALUE_H_
#define LLMKIT_SRC_TEMPLATE_VALUE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "llmkit/json.h"

namespace llmkit::internal::tmpl {

struct HeapObject;

// a == b for the short names and keys a render compares all the time ("message", "role"),
// without a call to memcmp: two overlapping word loads for up to 16 bytes.
inline bool SameText(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  auto load8 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto load4 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8) {
    if (n > 16) return std::memcmp(x, y, n) == 0;
    return load8(x) == load8(y) && load8(x + n - 8) == load8(y + n - 8);
  }
  if (n >= 4) return load4(x) == load4(y) && load4(x + n - 4) == load4(y + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}
struct List;
struct Dict;
struct Callable;

struct Value {
  enum class Kind : uint8_t {
    kUndefined,  // `str` holds the missing name (or empty); `attr` set when it was an attribute.
    kNone,
    kBool,
    kInt,
    kDouble,
    kString,      // `str`
    kJsonArray,   // `json`: an array of the caller's context
    kJsonObject,  // `json`: an object of the caller's context
    kList,        // `list` (tuple when list->tuple)
    kDict,        // `dict` (a namespace when dict->is_namespace)
    kCallable,    // `callable`: macro, caller, builtin function, bound method, loop, cycler...
  };

  Kind kind = Kind::kUndefined;
  bool attr = false;  // kUndefined: the missing name was an attribute/item, not a variable.
  // kString: a safe string (Jinja2's Markup, from |safe or |escape). Plain strings meeting it
  // in +, %, join and its methods are HTML-escaped first, as markupsafe does.
  bool safe = false;
  union {
    bool b;
    int64_t i;
    double d;
    const Json* json;
    List* list;
    Dict* dict;
    Callable* callable;
  };
  std::string_view str;

  Value() : i(0) {}
  static Value Undefined(std::string_view name = {}, bool attribute = false) {
    Value v;
    v.str = name;
    v.attr = attribute;
    return v;
  }
  static Value None() { return Make(Kind::kNone); }
  static Value Bool(bool x) {
    Value v = Make(Kind::kBool);
    v.b = x;
    return v;
  }
  static Value Int(int64_t x) {
    Value v = Make(Kind::kInt);
    v.i = x;
    return v;
  }
  static Value Double(double x) {
    Value v = Make(Kind::kDouble);
    v.d = x;
    return v;
  }
  static Value String(std::string_view s) {
    Value v = Make(Kind::kString);
    v.str = s;
    return v;
  }
  static Value Safe(std::string_view s) {
    Value v = String(s);
    v.safe = true;
    return v;
  }
  static Value Of(List* l) {
    Value v = Make(Kind::kList);
    v.list = l;
    return v;
  }
  static Value Of(Dict* d) {
    Value v = Make(Kind::kDict);
    v.dict = d;
    return v;
  }
  static Value Of(Callable* c) {
    Value v = Make(Kind::kCallable);
    v.callable = c;
    return v;
  }
  // A value of the caller's context: scalars and strings become plain values, arrays and
  // objects stay pointers.
  static Value FromJson(const Json& j);

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_safe() const { return kind == Kind::kString && safe; }
  bool is_number() const {
    return kind == Kind::kInt || kind == Kind::kDouble || kind == Kind::kBool;
  }
  bool is_integer() const { return kind == Kind::kInt || kind == Kind::kBool; }
  bool is_sequence_like() const { return kind == Kind::kList || kind == Kind::kJsonArray; }
  bool is_mapping() const {
    return kind == Kind::kJsonObject || (kind == Kind::kDict && !IsNamespace());
  }
  bool IsNamespace() const;
  double AsDouble() const {
    return kind == Kind::kDouble ? d : kind == Kind::kBool ? b : double(i);
  }
  int64_t AsInt() const { return kind == Kind::kBool ? int64_t{b} : i; }

 private:
  static Value Make(Kind k) {
    Value v;
    v.kind = k;
    return v;
  }
};

struct HeapObject {
  virtual ~HeapObject() = default;
};

// Whose a list or dict is: the render's, or the caller's (a TemplateValues container, which a
// render changes only after saving its items, and restores before it returns).
enum class Owner : uint8_t { kRender, kCaller, kCallerSaved };

struct List : HeapObject {
  std::vector<Value> items;
  bool tuple = false;
  bool group = false;  // A groupby result (grouper, list): also has those two attributes.
  Owner owner = Owner::kRender;
};

struct Dict : HeapObject {
  std::vector<std::pair<Value, Value>> items;  // Insertion order.
  bool is_namespace = false;
  bool keys_unique = false;  // Built by a caller that vouches no key repeats (TemplateValues).
  Owner owner = Owner::kRender;
};

inline bool Value::IsNamespace() const { return kind == Kind::kDict && dict->is_namespace; }

// Owns everything one render allocates; counts the bytes against the memory limit. Objects and
// characters are bump-allocated from blocks (a render's first 2 KiB come from the arena itself,
// with no heap allocation); objects are destroyed, last first, with the arena.
class Arena {
 public:
  explicit Arena(size_t max_bytes) : max_bytes_(max_bytes) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    for (size_t i = objects_.size(); i > 0; --i) objects_[i - 1]->~HeapObject();
  }

  template <typename T>
  T* New(size_t approximate_bytes = sizeof(T)) {
    static_assert(alignof(T) <= kAlign);
    T* object = new (Allocate(sizeof(T), kAlign)) T();
    objects_.push_back(object);
    Charge(approximate_bytes);
    return object;
  }
  // Uninitialized characters the arena owns.
  char* AllocateChars(size_t n) {
    char* p = Allocate(n, 1);
    Charge(n);
    return p;
  }
  // A copy the arena owns; the view stays valid for the arena's life.
  std::string_view Copy(std::string_view text) {
    if (text.empty()) return {};
    char* p = AllocateChars(text.size());
    std::memcpy(p, text.data(), text.size());
    return std::string_view(p, text.size());
  }
  void Charge(size_t bytes) { used_ += bytes; }
  bool exhausted() const { return used_ > max_bytes_; }
  size_t used() const { return used_; }

 private:
  static constexpr size_t kAlign = alignof(std::max_align_t);

  char* Allocate(size_t n, size_t align) {
    size_t skip = (align - reinterpret_cast<uintptr_t>(cursor_) % align) % align;
    if (n + skip > left_) {
      size_t size = std::max(n + kAlign, next_block_);
      next_block_ = std::min<size_t>(next_block_ * 2, size_t{1} << 20);
      blocks_.push_back(std::make_unique<char[]>(size));  // operator new[]: max_align_t aligned
      cursor_ = blocks_.back().get();
      left_ = size;
      skip = 0;
    }
    char* p = cursor_ + skip;
    cursor_ = p + n;
    left_ -= n + skip;
    return p;
  }

  absl::InlinedVector<HeapObject*, 8> objects_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  alignas(kAlign) char initial_[2048];
  char* cursor_ = initial_;
  size_t left_ = sizeof(initial_);
  size_t next_block_ = 8192;
  size_t used_ = 0;
  size_t max_bytes_;
};

}  // namespace llmkit::internal::tmpl

#endif  // LLMKIT_SRC_TEMPLATE_VALUE_H_
