// The collection's per-slot strings and metadata. A loaded collection reads them in place from
// its mapped documents file: nothing is copied or parsed until a slot is written or asked for.

#ifndef LLMKIT_SRC_INDEX_COLUMNS_H_
#define LLMKIT_SRC_INDEX_COLUMNS_H_

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/shared_bytes.h"
#include "common/string_section.h"
#include "llmkit/json.h"

namespace llmkit::internal {

// Strings by slot: a mapped section, views into a mapped file, or copies owned here. Writes
// need the collection's exclusive lock (the first one turns a section into views); reads are
// const and safe together.
class TextColumn {
 public:
  size_t size() const { return in_section_ ? section_.size() : views_.size(); }
  std::string_view operator[](size_t slot) const {
    return in_section_ ? section_[slot] : views_[slot];
  }
  // Reads every slot from `section`, which lies in `owner`'s bytes. REQUIRES: an empty column.
  void AssignSection(const StringSection& section, std::shared_ptr<const SharedBytes> owner);
  void Reserve(size_t n);
  void PushCopy(std::string_view text);
  // A view into `owner`'s bytes, which this column keeps alive.
  void PushView(std::string_view text, const std::shared_ptr<const SharedBytes>& owner);
  void Clear(size_t slot);
  // Keeps the slots whose keep[i] is nonzero, in order.
  void Compact(const std::vector<uint8_t>& keep);

 private:
  void Unfold();  // Section to views, before a write.

  bool in_section_ = false;
  StringSection section_;
  std::vector<std::string_view> views_;
  std::vector<std::unique_ptr<char[]>> owned_;  // Null for views and empty strings.
  std::shared_ptr<const SharedBytes> owner_;
};

// Metadata objects by slot. A loaded column holds each slot's JSON text and parses it when
// read: Get parses one slot; the first Parsed call parses every slot once, for filters that
// visit them all. Writes parse everything first and need the collection's exclusive lock;
// reads are safe together.
class MetadataColumn {
 public:
  size_t size() const { return parsed_all_.load() ? parsed_.size() : text_.size(); }
  // A copy of the slot's metadata (null when it has none, or its text does not parse: the
  // collection's verification reports that as kDataLoss).
  Json Get(size_t slot) const;
  const Json& Parsed(size_t slot) const;
  // The slots' JSON texts ("" for none), parsed when read. REQUIRES: an empty column.
  void AssignText(TextColumn text);
  void Reserve(size_t n) { parsed_.reserve(n); }
  void Push(Json metadata);
  void Clear(size_t slot);
  void Compact(const std::vector<uint8_t>& keep);
  // The slot's JSON text as Save writes it ("" for none).
  std::string Text(size_t slot) const;

 private:
  void ParseAll() const;

  TextColumn text_;  // Unparsed JSON, while parsed_all_ is false.
  mutable std::vector<Json> parsed_;
  mutable std::once_flag parse_once_;
  mutable std::atomic<bool> parsed_all_{true};
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_INDEX_COLUMNS_H_
