// Collection::Save and Load: a MANIFEST (JSON: format version, options, file sizes and SHA-256)
// naming generation-stamped data files — documents, vectors and the approximate index.

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/dir_lock.h"
#include "common/files.h"
#include "common/sha256.h"
#include "index/collection_impl.h"

namespace llmkit {

using internal::PutU32;
using internal::PutU64;
using internal::PutU8;
using internal::Reader;

namespace {

constexpr std::string_view kFormat = "llmkit.collection";
constexpr int kVersion = 1;
constexpr uint32_t kDocumentsMagic = 0x31444b4c;  // "LKD1"
constexpr uint32_t kVectorsMagic = 0x31564b4c;    // "LKV1"
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

std::string EncodeDocuments(const Collection::Impl& impl) {
  std::string out;
  PutU32(&out, kDocumentsMagic);
  PutU64(&out, impl.ids.size());
  for (size_t slot = 0; slot < impl.ids.size(); ++slot) {
    PutU8(&out, impl.live[slot]);
    for (const std::string* s : {&impl.ids[slot], &impl.texts[slot]}) {
      PutU32(&out, static_cast<uint32_t>(s->size()));
      out += *s;
    }
    std::string meta = impl.metadata[slot].is_null() ? std::string() : impl.metadata[slot].Dump();
    PutU32(&out, static_cast<uint32_t>(meta.size()));
    out += meta;
  }
  return out;
}

absl::Status DecodeDocuments(std::string_view bytes, const std::string& file,
                             Collection::Impl* impl) {
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(
        absl::StrCat("collection file ", file, ": ", internal::ToAbsl(what)));
  };
  Reader r(bytes);
  uint32_t magic;
  uint64_t n;
  if (!r.U32(&magic) || magic != kDocumentsMagic || !r.U64(&n)) return bad("bad header");
  if (n > bytes.size() / 13) return bad("truncated");  // Each slot takes at least 13 bytes.
  impl->ids.reserve(n);
  for (uint64_t slot = 0; slot < n; ++slot) {
    uint8_t live;
    uint32_t id_size, text_size, meta_size;
    std::string_view id, text, meta;
    if (!r.U8(&live) || live > 1 || !r.U32(&id_size) || !r.Bytes(id_size, &id) ||
        !r.U32(&text_size) || !r.Bytes(text_size, &text) || !r.U32(&meta_size) ||
        !r.Bytes(meta_size, &meta)) {
      return bad(absl::StrCat("truncated at document ", slot));
    }
    Json metadata;
    if (!meta.empty()) {
      absl::StatusOr<Json> parsed = Json::Parse(meta);
      if (!parsed.ok() || !parsed->is_object()) {
        return bad(absl::StrCat("metadata of document ", slot, " is not a JSON object"));
      }
      metadata = *std::move(parsed);
    }
    if (live) {
      if (id.empty() || !impl->slot_of.emplace(std::string(id), slot).second) {
        return bad(absl::StrCat("document ", slot, " has an empty or repeated id"));
      }
      ++impl->live_count;
    }
    impl->ids.emplace_back(id);
    impl->texts.emplace_back(text);
    impl->metadata.push_back(std::move(metadata));
    impl->live.push_back(live);
  }
  if (!r.done()) return bad("trailing bytes");
  return absl::OkStatus();
}

std::string EncodeVectors(const internal::VectorStore& store) {
  std::string out;
  PutU32(&out, kVectorsMagic);
  PutU64(&out, store.rows());
  PutU32(&out, static_cast<uint32_t>(store.dim()));
  PutU8(&out, store.float16() ? 1 : 0);
  out += store.RawBytes();
  return out;
}

absl::Status DecodeVectors(std::string_view bytes, const std::string& file,
                           internal::VectorStore* store) {
  Reader r(bytes);
  uint32_t magic, dim;
  uint64_t rows;
  uint8_t f16;
  std::string_view rest;
  if (!r.U32(&magic) || magic != kVectorsMagic || !r.U64(&rows) || !r.U32(&dim) || !r.U8(&f16) ||
      dim != store->dim() || f16 != (store->float16() ? 1 : 0)) {
    return absl::DataLossError(absl::StrCat("collection file ", file, ": bad header"));
  }
  r.Bytes(bytes.size() - 17, &rest);
  if (!store->AssignRaw(rest, rows)) {
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
    entry.Set("sha256", internal::Sha256Hex(bytes));
    listed.push_back(std::move(entry));
  }
  manifest.Set("files", std::move(listed));
  LLMKIT_RETURN_IF_ERROR(internal::WriteAtomically(absl::StrCat(dir, "/MANIFEST"),
                                                   manifest.Dump(JsonDumpOptions::PythonStyle(2))));
  // The new generation is live; the older files are garbage now.
  for (const auto& [name, g] : existing) {
    if (g != generation) unlink(absl::StrCat(dir, "/", name).c_str());
  }
  return absl::OkStatus();
}

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
  std::vector<std::pair<std::string, std::string>> files;
  if (const Json* listed = parsed->Find("files"); listed != nullptr && listed->is_array()) {
    for (const Json& entry : listed->as_array()) {
      const Json* name = entry.is_object() ? entry.Find("name") : nullptr;
      if (name == nullptr || !name->is_string()) return ManifestError("file entry without name");
      const std::string& file = name->as_string();
      if (file.empty() || file.find('/') != std::string::npos || file[0] == '.') {
        return ManifestError(absl::StrCat("bad file name \"", file, "\""));
      }
      absl::StatusOr<std::string> bytes = internal::ReadFile(absl::StrCat(dir, "/", file));
      if (!bytes.ok()) {
        return absl::DataLossError(
            absl::StrCat("collection file ", file, ": ", bytes.status().message()));
      }
      files.emplace_back(file, *std::move(bytes));
    }
  }
  return internal::LoadCollectionFromFiles(*manifest, files, /*verify_checksums=*/true);
}

absl::StatusOr<std::unique_ptr<Collection>> internal::LoadCollectionFromFiles(
    std::string_view manifest_text, const std::vector<std::pair<std::string, std::string>>& files,
    bool verify_checksums) {
  absl::StatusOr<Json> parsed = Json::Parse(manifest_text);
  if (!parsed.ok() || !parsed->is_object()) return ManifestError("not a JSON object");
  const Json& manifest = *parsed;
  const Json* format = manifest.Find("format");
  const Json* version = manifest.Find("version");
  if (format == nullptr || !format->is_string() || format->as_string() != kFormat) {
    return ManifestError("not an llmkit collection");
  }
  if (version == nullptr || !version->is_int()) return ManifestError("version missing");
  if (version->as_int() != kVersion) {
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

  // role -> (name, bytes)
  std::vector<std::pair<std::string, const std::string*>> by_role(3);
  for (const Json& entry : listed->as_array()) {
    const Json* role = entry.is_object() ? entry.Find("role") : nullptr;
    const Json* name = entry.is_object() ? entry.Find("name") : nullptr;
    const Json* size = entry.is_object() ? entry.Find("bytes") : nullptr;
    const Json* sha = entry.is_object() ? entry.Find("sha256") : nullptr;
    if (role == nullptr || !role->is_string() || name == nullptr || !name->is_string() ||
        size == nullptr || !size->is_int() || sha == nullptr || !sha->is_string()) {
      return ManifestError("malformed file entry");
    }
    size_t index = 3;
    for (size_t i = 0; i < 3; ++i) {
      if (role->as_string() == kRoles[i]) index = i;
    }
    if (index == 3 || by_role[index].second != nullptr) {
      return ManifestError(absl::StrCat("unknown or repeated role ", role->as_string()));
    }
    const std::string* bytes = nullptr;
    for (const auto& [file, content] : files) {
      if (file == name->as_string()) bytes = &content;
    }
    const std::string& file = name->as_string();
    if (bytes == nullptr) {
      return absl::DataLossError(absl::StrCat("collection file ", file, ": missing"));
    }
    if (static_cast<int64_t>(bytes->size()) != size->as_int()) {
      return absl::DataLossError(absl::StrCat("collection file ", file, ": ", bytes->size(),
                                              " bytes, the manifest says ", size->as_int(),
                                              " (truncated?)"));
    }
    if (verify_checksums && internal::Sha256Hex(*bytes) != sha->as_string()) {
      return absl::DataLossError(absl::StrCat("collection file ", file, ": checksum mismatch"));
    }
    by_role[index] = {file, bytes};
  }
  if (by_role[0].second == nullptr || by_role[1].second == nullptr) {
    return ManifestError("documents or vectors file missing");
  }
  bool wants_index = options.index != IndexKind::kFlat;
  if (wants_index != (by_role[2].second != nullptr)) {
    return ManifestError("index file missing or unexpected");
  }

  auto impl = std::make_unique<Collection::Impl>(options);
  {
    std::unique_lock lock(impl->mu);
    LLMKIT_RETURN_IF_ERROR(DecodeDocuments(*by_role[0].second, by_role[0].first, impl.get()));
    LLMKIT_RETURN_IF_ERROR(DecodeVectors(*by_role[1].second, by_role[1].first, &impl->store));
    if (impl->store.rows() != impl->ids.size()) {
      return absl::DataLossError(absl::StrCat("collection file ", by_role[1].first, ": ",
                                              impl->store.rows(), " vectors for ", impl->ids.size(),
                                              " documents"));
    }
    if (wants_index) {
      absl::StatusOr<std::unique_ptr<internal::AnnIndex>> ann =
          internal::LoadAnnIndex(&impl->store, options, *by_role[2].second);
      if (!ann.ok()) {
        return absl::DataLossError(
            absl::StrCat("collection file ", by_role[2].first, ": ", ann.status().message()));
      }
      impl->ann = *std::move(ann);
    }
  }
  return std::make_unique<Collection>(std::move(impl));
}

}  // namespace llmkit
