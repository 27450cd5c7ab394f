// Collection::Save and Load: a MANIFEST (JSON: format version, options, file sizes and
// CRC-32C checksums) naming generation-stamped data files — documents, vectors and the
// approximate index. Load maps the files and reads documents and vectors in place; checksums
// and metadata are verified on other threads meanwhile (Collection::Impl::verification).

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/crc32c.h"
#include "common/dir_lock.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/shared_bytes.h"
#include "index/collection_impl.h"

namespace llmkit {

using internal::PutU32;
using internal::PutU64;
using internal::PutU8;
using internal::Reader;
using internal::SharedBytes;
using internal::StringSection;

namespace {

constexpr std::string_view kFormat = "llmkit.collection";
// Version 2 aligns the vectors for reading in place (LKV2); version 1 files still load.
constexpr int kVersion = 2;
constexpr uint32_t kDocumentsMagicV1 = 0x31444b4c;  // "LKD1": records one after another.
constexpr uint32_t kDocumentsMagic = 0x32444b4c;    // "LKD2": columns (see EncodeDocuments).
constexpr uint32_t kVectorsMagicV1 = 0x31564b4c;    // "LKV1": a 17-byte header.
constexpr uint32_t kVectorsMagic = 0x32564b4c;      // "LKV2": a 64-byte header.
constexpr size_t kVectorsHeader = 64;
constexpr std::string_view kRoles[] = {"documents", "vectors", "index"};

Json OptionsToJson(const CollectionOptions& o) {
  Json j = Json::MakeObject();
  j.Set("dim", o.dim);
  j.Set("metric", MetricName(o.metric));
  j.Set("index", IndexKindName(o.index));
  j.Set("float16", o.float16);
  j.Set("hnsw_m", o.hnsw_m);
  j.Set("hnsw_ef_construction", o.hnsw_ef_construction);
  j.Set("hnsw_ef_search", o.hnsw_ef_search);
  j.Set("ivf_nlist", o.ivf_nlist);
  j.Set("ivf_nprobe", o.ivf_nprobe);
  j.Set("ivf_train_size", o.ivf_train_size);
  j.Set("compact_deleted_fraction", o.compact_deleted_fraction);
  return j;
}

absl::Status ManifestError(std::string_view what) {
  return absl::DataLossError(absl::StrCat("collection file MANIFEST: ", internal::ToAbsl(what)));
}

absl::StatusOr<CollectionOptions> OptionsFromJson(const Json& j) {
  CollectionOptions o;
  if (!j.is_object()) return ManifestError("options missing");
  auto get_int = [&](std::string_view key, int* out) -> bool {
    const Json* v = j.Find(key);
    if (v == nullptr || !v->is_int() || v->as_int() < 0 || v->as_int() > (1 << 30)) return false;
    *out = static_cast<int>(v->as_int());
    return true;
  };
  const Json* metric = j.Find("metric");
  const Json* kind = j.Find("index");
  const Json* f16 = j.Find("float16");
  const Json* fraction = j.Find("compact_deleted_fraction");
  if (!get_int("dim", &o.dim) || !get_int("hnsw_m", &o.hnsw_m) ||
      !get_int("hnsw_ef_construction", &o.hnsw_ef_construction) ||
      !get_int("hnsw_ef_search", &o.hnsw_ef_search) || !get_int("ivf_nlist", &o.ivf_nlist) ||
      !get_int("ivf_nprobe", &o.ivf_nprobe) || !get_int("ivf_train_size", &o.ivf_train_size) ||
      metric == nullptr || !metric->is_string() || kind == nullptr || !kind->is_string() ||
      f16 == nullptr || !f16->is_bool() || fraction == nullptr || !fraction->is_number()) {
    return ManifestError("options malformed");
  }
  o.float16 = f16->as_bool();
  o.compact_deleted_fraction = fraction->as_double();
  std::optional<Metric> metric_value = MetricFromName(metric->as_string());
  if (!metric_value) return ManifestError("unknown metric");
  o.metric = *metric_value;
  std::optional<IndexKind> index = IndexKindFromName(kind->as_string());
  if (!index) return ManifestError("unknown index kind");
  o.index = *index;
  if (o.dim == 0 || o.dim > (1 << 16)) return ManifestError("dimension out of range");
  if (o.ivf_nlist > (1 << 20)) return ManifestError("ivf_nlist out of range");
  return o;
}

// LKD2: magic, zero, slot count, live flags, then ids, texts and metadata texts each as a
// StringSection (offsets and blob), every part starting at a multiple of 8 — so that a mapping
// of the file is read in place and opening it touches only the flags and the ids.
std::string EncodeDocuments(const Collection::Impl& impl) {
  const size_t n = impl.ids.size();
  std::vector<std::string> metadata(n);
  size_t bytes = 24 + n * 25;
  for (size_t slot = 0; slot < n; ++slot) {
    metadata[slot] = impl.metadata.Text(slot);
    bytes += impl.ids[slot].size() + impl.texts[slot].size() + metadata[slot].size();
  }
  std::string out;
  out.reserve(bytes);
  PutU32(&out, kDocumentsMagic);
  PutU32(&out, 0);
  PutU64(&out, n);
  out.append(reinterpret_cast<const char*>(impl.live.data()), n);
  internal::PadTo(&out, 8);
  StringSection::Write(
      n, [&](size_t i) { return impl.ids[i]; }, &out);
  StringSection::Write(
      n, [&](size_t i) { return impl.texts[i]; }, &out);
  StringSection::Write(
      n, [&](size_t i) { return std::string_view(metadata[i]); }, &out);
  return out;
}

// A documents file's parts, viewed in place.
struct DocumentsFile {
  std::string_view live;
  StringSection ids, texts, metadata;
};

absl::Status DocumentsError(const std::string& file, std::string_view what) {
  return absl::DataLossError(absl::StrCat("collection file ", file, ": ", internal::ToAbsl(what)));
}

// Reads the structure of an LKD2 file (offsets in range; contents unchecked).
absl::StatusOr<DocumentsFile> ReadDocuments(std::string_view bytes, const std::string& file) {
  Reader r(bytes);
  uint32_t magic, zero;
  uint64_t n;
  if (!r.U32(&magic) || magic != kDocumentsMagic || !r.U32(&zero) || zero != 0 || !r.U64(&n)) {
    return DocumentsError(file, "bad header");
  }
  DocumentsFile out;
  // Each slot takes at least 25 bytes (a flag and three offsets).
  if (n > bytes.size() / 25 || !r.Bytes(n, &out.live) || !r.Align(8)) {
    return DocumentsError(file, "truncated");
  }
  const char* parts[] = {"ids", "texts", "metadata"};
  StringSection* sections[] = {&out.ids, &out.texts, &out.metadata};
  for (size_t i = 0; i < 3; ++i) {
    std::optional<StringSection> section = StringSection::Read(&r, n);
    if (!section) return DocumentsError(file, absl::StrCat("malformed ", parts[i]));
    *sections[i] = *section;
  }
  if (!r.done()) return DocumentsError(file, "trailing bytes");
  return out;
}

// Calls `visit(slot, live, id, text, metadata)` for each record of an LKD1 file (written
// before version 2) and returns its first error, or kDataLoss naming the first malformed
// record.
template <typename Visit>
absl::Status WalkDocumentsV1(std::string_view bytes, const std::string& file, Visit&& visit) {
  Reader r(bytes);
  uint32_t magic;
  uint64_t n;
  if (!r.U32(&magic) || magic != kDocumentsMagicV1 || !r.U64(&n)) {
    return DocumentsError(file, "bad header");
  }
  if (n > bytes.size() / 13) return DocumentsError(file, "truncated");  // 13 bytes per slot.
  for (uint64_t slot = 0; slot < n; ++slot) {
    uint8_t live;
    uint32_t id_size, text_size, meta_size;
    std::string_view id, text, meta;
    if (!r.U8(&live) || live > 1 || !r.U32(&id_size) || !r.Bytes(id_size, &id) ||
        !r.U32(&text_size) || !r.Bytes(text_size, &text) || !r.U32(&meta_size) ||
        !r.Bytes(meta_size, &meta)) {
      return DocumentsError(file, absl::StrCat("truncated at document ", slot));
    }
    LLMKIT_RETURN_IF_ERROR(visit(slot, live, id, text, meta));
  }
  if (!r.done()) return DocumentsError(file, "trailing bytes");
  return absl::OkStatus();
}

bool IsVersion1(std::string_view bytes) {
  uint32_t magic = 0;
  return Reader(bytes).U32(&magic) && magic == kDocumentsMagicV1;
}

// Whether a document's metadata text is empty or a JSON object (what Save writes).
absl::Status CheckOneMetadata(uint64_t slot, std::string_view meta, const std::string& file) {
  if (meta.empty()) return absl::OkStatus();
  absl::StatusOr<Json> parsed = Json::Parse(meta);
  if (parsed.ok() && parsed->is_object()) return absl::OkStatus();
  return DocumentsError(file, absl::StrCat("metadata of document ", slot, " is not a JSON object"));
}

absl::Status CheckMetadata(std::string_view bytes, const std::string& file) {
  if (IsVersion1(bytes)) {
    return WalkDocumentsV1(
        bytes, file,
        [&](uint64_t slot, uint8_t, std::string_view, std::string_view, std::string_view meta) {
          return CheckOneMetadata(slot, meta, file);
        });
  }
  LLMKIT_ASSIGN_OR_RETURN(DocumentsFile documents, ReadDocuments(bytes, file));
  for (size_t slot = 0; slot < documents.metadata.size(); ++slot) {
    LLMKIT_RETURN_IF_ERROR(CheckOneMetadata(slot, documents.metadata[slot], file));
  }
  return absl::OkStatus();
}

// Reads the documents in place from `owner`: the columns view the file; only the id table is
// built. (CheckMetadata checks the metadata.)
absl::Status DecodeDocuments(const std::shared_ptr<const SharedBytes>& owner,
                             const std::string& file, Collection::Impl* impl) {
  auto index_id = [&](uint64_t slot, uint8_t live) -> absl::Status {
    if (live > 1) return DocumentsError(file, absl::StrCat("document ", slot, " has a bad flag"));
    if (!live) return absl::OkStatus();
    std::string_view id = impl->ids[slot];
    if (id.empty() || !impl->slot_of.emplace(internal::ToAbsl(id), slot).second) {
      return DocumentsError(file, absl::StrCat("document ", slot, " has an empty or repeated id"));
    }
    ++impl->live_count;
    return absl::OkStatus();
  };
  if (IsVersion1(owner->view())) {
    internal::TextColumn metadata;
    LLMKIT_RETURN_IF_ERROR(WalkDocumentsV1(owner->view(), file,
                                           [&](uint64_t slot, uint8_t live, std::string_view id,
                                               std::string_view text, std::string_view meta) {
                                             impl->ids.PushView(id, owner);
                                             impl->texts.PushView(text, owner);
                                             metadata.PushView(meta, owner);
                                             impl->live.push_back(live);
                                             return index_id(slot, live);
                                           }));
    impl->metadata.AssignText(std::move(metadata));
    return absl::OkStatus();
  }
  LLMKIT_ASSIGN_OR_RETURN(DocumentsFile documents, ReadDocuments(owner->view(), file));
  const size_t n = documents.live.size();
  impl->live.assign(documents.live.begin(), documents.live.end());
  impl->ids.AssignSection(documents.ids, owner);
  impl->texts.AssignSection(documents.texts, owner);
  internal::TextColumn metadata;
  metadata.AssignSection(documents.metadata, owner);
  impl->metadata.AssignText(std::move(metadata));
  impl->slot_of.reserve(n);
  for (uint64_t slot = 0; slot < n; ++slot)
    LLMKIT_RETURN_IF_ERROR(index_id(slot, impl->live[slot]));
  return absl::OkStatus();
}

// LKV2: magic, rows, dim, float16, zeros up to 64 bytes, then the rows, so that a mapping of
// the file holds them aligned.
std::string EncodeVectors(const internal::VectorStore& store) {
  std::string out;
  PutU32(&out, kVectorsMagic);
  PutU64(&out, store.rows());
  PutU32(&out, static_cast<uint32_t>(store.dim()));
  PutU8(&out, store.float16() ? 1 : 0);
  internal::PadTo(&out, kVectorsHeader);
  out += store.RawBytes();
  return out;
}

// Reads LKV2 rows in place from `owner`; copies LKV1 rows (unaligned).
absl::Status DecodeVectors(const std::shared_ptr<const SharedBytes>& owner, const std::string& file,
                           internal::VectorStore* store) {
  const std::string_view bytes = owner->view();
  Reader r(bytes);
  uint32_t magic, dim;
  uint64_t rows;
  uint8_t f16;
  if (!r.U32(&magic) || (magic != kVectorsMagic && magic != kVectorsMagicV1) || !r.U64(&rows) ||
      !r.U32(&dim) || !r.U8(&f16) || dim != store->dim() || f16 != (store->float16() ? 1 : 0) ||
      (magic == kVectorsMagic && bytes.size() < kVectorsHeader)) {
    return absl::DataLossError(absl::StrCat("collection file ", file, ": bad header"));
  }
  const bool ok = magic == kVectorsMagic
                      ? store->AssignMapped(owner, bytes.substr(kVectorsHeader), rows)
                      : store->AssignRaw(bytes.substr(17), rows);
  if (!ok) {
    return absl::DataLossError(absl::StrCat("collection file ", file, ": truncated vectors"));
  }
  return absl::OkStatus();
}

// Generations present in `dir` (from data file names).
std::vector<std::pair<std::string, uint64_t>> DataFiles(const std::string& dir) {
  std::vector<std::pair<std::string, uint64_t>> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* entry = readdir(d)) {
    std::string_view name = entry->d_name;
    for (std::string_view role : kRoles) {
      if (name.size() > role.size() + 5 && name.substr(0, role.size()) == role &&
          name[role.size()] == '-' && name.substr(name.size() - 4) == ".bin") {
        uint64_t generation;
        std::string_view digits = name.substr(role.size() + 1, name.size() - role.size() - 5);
        if (absl::SimpleAtoi(internal::ToAbsl(digits), &generation)) {
          out.emplace_back(std::string(name), generation);
        }
      }
    }
  }
  closedir(d);
  return out;
}

}  // namespace

absl::Status Collection::Save(const std::string& dir, const CallContext& call) const {
  // Saving damaged data would give it fresh checksums.
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  // One writer at a time: two saves interleaving their generations corrupt both. (Taking the
  // lock creates `dir`.)
  LLMKIT_ASSIGN_OR_RETURN(
      internal::DirLock writer,
      internal::DirLock::Acquire(dir, call.has_deadline()
                                          ? call.deadline
                                          : CallContext::DeadlineAfter(std::chrono::seconds(30))));
  std::vector<std::pair<std::string, uint64_t>> existing = DataFiles(dir);
  uint64_t generation = 1;
  for (const auto& [name, g] : existing) generation = std::max(generation, g + 1);

  std::shared_lock lock(impl_->mu);
  std::vector<std::pair<std::string, std::string>> files;  // role, bytes
  files.emplace_back("documents", EncodeDocuments(*impl_));
  files.emplace_back("vectors", EncodeVectors(impl_->store));
  if (impl_->ann != nullptr) files.emplace_back("index", impl_->ann->Serialize());

  Json manifest = Json::MakeObject();
  manifest.Set("format", kFormat);
  manifest.Set("version", kVersion);
  manifest.Set("generation", static_cast<int64_t>(generation));
  manifest.Set("options", OptionsToJson(impl_->options));
  manifest.Set("slots", static_cast<int64_t>(impl_->ids.size()));
  manifest.Set("documents", static_cast<int64_t>(impl_->live_count));
  Json listed = Json::MakeArray();
  for (const auto& [role, bytes] : files) {
    std::string name = absl::StrCat(role, "-", generation, ".bin");
    LLMKIT_RETURN_IF_ERROR(internal::WriteAtomically(absl::StrCat(dir, "/", name), bytes));
    Json entry = Json::MakeObject();
    entry.Set("role", role);
    entry.Set("name", name);
    entry.Set("bytes", static_cast<int64_t>(bytes.size()));
    entry.Set("crc32c", internal::Crc32cHex(bytes));
    listed.push_back(std::move(entry));
  }
  manifest.Set("files", std::move(listed));
  const std::string manifest_text = manifest.Dump(JsonDumpOptions::PythonStyle(2));
  LLMKIT_RETURN_IF_ERROR(internal::WriteAtomically(absl::StrCat(dir, "/MANIFEST"), manifest_text));
  {
    std::lock_guard saved(impl_->saved_mu);
    impl_->saved_state = internal::Sha256Hex(manifest_text);
  }
  // The new generation is live; the older files are garbage now.
  for (const auto& [name, g] : existing) {
    if (g != generation) unlink(absl::StrCat(dir, "/", name).c_str());
  }
  return absl::OkStatus();
}

namespace {

struct LoadedFile {
  std::string name;
  std::shared_ptr<const SharedBytes> bytes;
};

// Checks the MANIFEST and the files' sizes, reads documents and vectors in place and restores
// the approximate index; with `background`, checksums and metadata are verified on another
// thread (checksums only when `verify_checksums`), otherwise before returning.
absl::StatusOr<std::unique_ptr<Collection>> LoadFiles(std::string_view manifest_text,
                                                      const std::vector<LoadedFile>& files,
                                                      bool verify_checksums, bool background) {
  absl::StatusOr<Json> parsed = Json::Parse(manifest_text);
  if (!parsed.ok() || !parsed->is_object()) return ManifestError("not a JSON object");
  const Json& manifest = *parsed;
  const Json* format = manifest.Find("format");
  const Json* version = manifest.Find("version");
  if (format == nullptr || !format->is_string() || format->as_string() != kFormat) {
    return ManifestError("not an llmkit collection");
  }
  if (version == nullptr || !version->is_int()) return ManifestError("version missing");
  if (version->as_int() < 1 || version->as_int() > kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("collection format version ", version->as_int(),
                                                   " is not supported (this is ", kVersion, ")"));
  }
  const Json* options_json = manifest.Find("options");
  LLMKIT_ASSIGN_OR_RETURN(CollectionOptions options,
                          OptionsFromJson(options_json ? *options_json : Json()));
  if (absl::Status valid = internal::ValidateCollectionOptions(options); !valid.ok()) {
    return ManifestError(internal::ToStd(valid.message()));
  }
  const Json* listed = manifest.Find("files");
  if (listed == nullptr || !listed->is_array()) return ManifestError("file list missing");

  struct Role {
    std::string file;
    std::shared_ptr<const SharedBytes> bytes;
    std::string checksum;  // CRC-32C, or SHA-256 in files saved before version 2.
    bool sha256 = false;
  };
  std::vector<Role> by_role(3);
  for (const Json& entry : listed->as_array()) {
    const Json* role = entry.is_object() ? entry.Find("role") : nullptr;
    const Json* name = entry.is_object() ? entry.Find("name") : nullptr;
    const Json* size = entry.is_object() ? entry.Find("bytes") : nullptr;
    const Json* crc = entry.is_object() ? entry.Find("crc32c") : nullptr;
    const Json* sha = entry.is_object() ? entry.Find("sha256") : nullptr;
    const Json* checksum = crc != nullptr ? crc : sha;
    if (role == nullptr || !role->is_string() || name == nullptr || !name->is_string() ||
        size == nullptr || !size->is_int() || checksum == nullptr || !checksum->is_string()) {
      return ManifestError("malformed file entry");
    }
    size_t index = 3;
    for (size_t i = 0; i < 3; ++i) {
      if (role->as_string() == kRoles[i]) index = i;
    }
    if (index == 3 || by_role[index].bytes != nullptr) {
      return ManifestError(absl::StrCat("unknown or repeated role ", role->as_string()));
    }
    std::shared_ptr<const SharedBytes> bytes;
    for (const LoadedFile& file : files) {
      if (file.name == name->as_string()) bytes = file.bytes;
    }
    const std::string& file = name->as_string();
    if (bytes == nullptr) {
      return absl::DataLossError(absl::StrCat("collection file ", file, ": missing"));
    }
    if (static_cast<int64_t>(bytes->view().size()) != size->as_int()) {
      return absl::DataLossError(absl::StrCat("collection file ", file, ": ", bytes->view().size(),
                                              " bytes, the manifest says ", size->as_int(),
                                              " (truncated?)"));
    }
    by_role[index] = {file, std::move(bytes), checksum->as_string(), crc == nullptr};
  }
  if (by_role[0].bytes == nullptr || by_role[1].bytes == nullptr) {
    return ManifestError("documents or vectors file missing");
  }
  bool wants_index = options.index != IndexKind::kFlat;
  if (wants_index != (by_role[2].bytes != nullptr)) {
    return ManifestError("index file missing or unexpected");
  }
  // What the structure checks below do not cover: every byte against its checksum, and the
  // metadata, which is parsed only when read. Two checks, to run on two threads.
  std::vector<std::function<absl::Status()>> checks;
  if (verify_checksums) {
    checks.push_back([by_role]() -> absl::Status {
      for (const Role& role : by_role) {
        if (role.bytes == nullptr) continue;
        const std::string_view bytes = role.bytes->view();
        if ((role.sha256 ? internal::Sha256Hex(bytes) : internal::Crc32cHex(bytes)) !=
            role.checksum) {
          return absl::DataLossError(
              absl::StrCat("collection file ", role.file, ": checksum mismatch"));
        }
      }
      return absl::OkStatus();
    });
  }
  checks.push_back(
      [documents = by_role[0]] { return CheckMetadata(documents.bytes->view(), documents.file); });
  auto impl = std::make_unique<Collection::Impl>(options);
  for (std::function<absl::Status()>& check : checks) {
    if (background) {
      impl->verification.push_back(std::make_unique<internal::BackgroundCheck>(std::move(check)));
    } else {
      LLMKIT_RETURN_IF_ERROR(check());
    }
  }
  {
    std::unique_lock lock(impl->mu);
    LLMKIT_RETURN_IF_ERROR(DecodeDocuments(by_role[0].bytes, by_role[0].file, impl.get()));
    LLMKIT_RETURN_IF_ERROR(DecodeVectors(by_role[1].bytes, by_role[1].file, &impl->store));
    if (impl->store.rows() != impl->ids.size()) {
      return absl::DataLossError(absl::StrCat("collection file ", by_role[1].file, ": ",
                                              impl->store.rows(), " vectors for ", impl->ids.size(),
                                              " documents"));
    }
    if (wants_index) {
      absl::StatusOr<std::unique_ptr<internal::AnnIndex>> ann =
          internal::LoadAnnIndex(&impl->store, options, by_role[2].bytes->view());
      if (!ann.ok()) {
        return absl::DataLossError(
            absl::StrCat("collection file ", by_role[2].file, ": ", ann.status().message()));
      }
      impl->ann = *std::move(ann);
    }
    impl->saved_state = internal::Sha256Hex(manifest_text);
  }
  return std::make_unique<Collection>(std::move(impl));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Collection>> Collection::Load(const std::string& dir) {
  absl::StatusOr<std::string> manifest = internal::ReadFile(absl::StrCat(dir, "/MANIFEST"));
  if (!manifest.ok()) {
    if (absl::IsNotFound(manifest.status())) {
      return absl::NotFoundError(absl::StrCat("no collection in ", dir, " (MANIFEST missing)"));
    }
    return manifest.status();
  }
  absl::StatusOr<Json> parsed = Json::Parse(*manifest);
  if (!parsed.ok() || !parsed->is_object()) return ManifestError("not a JSON object");
  std::vector<LoadedFile> files;
  if (const Json* listed = parsed->Find("files"); listed != nullptr && listed->is_array()) {
    for (const Json& entry : listed->as_array()) {
      const Json* name = entry.is_object() ? entry.Find("name") : nullptr;
      if (name == nullptr || !name->is_string()) return ManifestError("file entry without name");
      const std::string& file = name->as_string();
      if (file.empty() || file.find('/') != std::string::npos || file[0] == '.') {
        return ManifestError(absl::StrCat("bad file name \"", file, "\""));
      }
      absl::StatusOr<std::shared_ptr<const SharedBytes>> bytes =
          SharedBytes::Map(absl::StrCat(dir, "/", file));
      if (!bytes.ok()) {
        return absl::DataLossError(
            absl::StrCat("collection file ", file, ": ", bytes.status().message()));
      }
      files.push_back({file, *std::move(bytes)});
    }
  }
  return LoadFiles(*manifest, files, /*verify_checksums=*/true, /*background=*/true);
}

absl::StatusOr<std::unique_ptr<Collection>> internal::LoadCollectionFromFiles(
    std::string_view manifest_text, const std::vector<std::pair<std::string, std::string>>& files,
    bool verify_checksums) {
  std::vector<LoadedFile> owned;
  for (const auto& [name, bytes] : files) owned.push_back({name, SharedBytes::Own(bytes)});
  return LoadFiles(manifest_text, owned, verify_checksums, /*background=*/false);
}

absl::Status Collection::Verify() const { return impl_->Verified(); }

std::string Collection::SavedState() const {
  std::lock_guard saved(impl_->saved_mu);
  return impl_->saved_state;
}

}  // namespace llmkit
