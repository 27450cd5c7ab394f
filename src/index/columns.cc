// StringSection, TextColumn and MetadataColumn (see columns.h).

#include "index/columns.h"

#include <utility>

namespace llmkit::internal {

namespace {

// Moves the kept entries of `v` to the front, in order, and drops the rest.
template <typename T>
void KeepOnly(std::vector<T>* v, const std::vector<uint8_t>& keep) {
  size_t out = 0;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!keep[i]) continue;
    if (out != i) (*v)[out] = std::move((*v)[i]);
    ++out;
  }
  v->resize(out);
}

Json ParseObject(std::string_view text) {
  if (text.empty()) return Json();
  absl::StatusOr<Json> parsed = Json::Parse(text);
  if (!parsed.ok() || !parsed->is_object()) return Json();
  return *std::move(parsed);
}

}  // namespace

void TextColumn::AssignSection(const StringSection& section,
                               std::shared_ptr<const SharedBytes> owner) {
  section_ = section;
  owner_ = std::move(owner);
  in_section_ = true;
}

void TextColumn::Unfold() {
  if (!in_section_) return;
  views_.reserve(section_.size());
  owned_.resize(section_.size());
  for (size_t slot = 0; slot < section_.size(); ++slot) views_.push_back(section_[slot]);
  in_section_ = false;
  section_ = StringSection();
}

void TextColumn::Reserve(size_t n) {
  Unfold();
  views_.reserve(n);
  owned_.reserve(n);
}

void TextColumn::PushCopy(std::string_view text) {
  Unfold();
  std::unique_ptr<char[]> copy;
  if (!text.empty()) {
    copy = std::make_unique<char[]>(text.size());
    std::memcpy(copy.get(), text.data(), text.size());
  }
  views_.emplace_back(copy.get(), text.size());
  owned_.push_back(std::move(copy));
}

void TextColumn::PushView(std::string_view text, const std::shared_ptr<const SharedBytes>& owner) {
  Unfold();
  if (owner_ != owner) owner_ = owner;
  views_.push_back(text);
  owned_.emplace_back();
}

void TextColumn::Clear(size_t slot) {
  Unfold();
  views_[slot] = {};
  owned_[slot].reset();
}

void TextColumn::Compact(const std::vector<uint8_t>& keep) {
  Unfold();
  KeepOnly(&views_, keep);
  KeepOnly(&owned_, keep);
}

void MetadataColumn::AssignText(TextColumn text) {
  text_ = std::move(text);
  parsed_all_.store(text_.size() == 0);
}

Json MetadataColumn::Get(size_t slot) const {
  if (parsed_all_.load(std::memory_order_acquire)) return parsed_[slot];
  return ParseObject(text_[slot]);
}

const Json& MetadataColumn::Parsed(size_t slot) const {
  if (!parsed_all_.load(std::memory_order_acquire)) ParseAll();
  return parsed_[slot];
}

void MetadataColumn::ParseAll() const {
  if (parsed_all_.load(std::memory_order_acquire)) return;
  std::call_once(parse_once_, [this] {
    parsed_.resize(text_.size());
    for (size_t slot = 0; slot < text_.size(); ++slot) parsed_[slot] = ParseObject(text_[slot]);
    parsed_all_.store(true, std::memory_order_release);
  });
}

void MetadataColumn::Push(Json metadata) {
  ParseAll();
  parsed_.push_back(std::move(metadata));
}

void MetadataColumn::Clear(size_t slot) {
  ParseAll();
  parsed_[slot] = Json();
}

void MetadataColumn::Compact(const std::vector<uint8_t>& keep) {
  ParseAll();
  KeepOnly(&parsed_, keep);
}

std::string MetadataColumn::Text(size_t slot) const {
  if (!parsed_all_.load(std::memory_order_acquire)) return std::string(text_[slot]);
  return parsed_[slot].is_null() ? std::string() : parsed_[slot].Dump();
}

}  // namespace llmkit::internal
