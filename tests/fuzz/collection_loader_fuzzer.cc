// Fuzz target: the collection loader on arbitrary files. The input is the MANIFEST, then the
// documents, vectors and index files, separated by "\n@@FILE@@\n". With the first byte odd the
// manifest's sizes and checksums (CRC-32C, or with bit 1 set SHA-256 as version 1 wrote) are
// recomputed from the given files, so mutations reach the file decoders (documents, vectors,
// HNSW graph, IVF lists) past the checksum gate; otherwise the manifest is taken as it is.
// Loading must return a collection or an error, never crash; a loaded collection must answer
// searches (filtered ones parse every metadata text) and reads, or fail them with an error.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/crc32c.h"
#include "common/sha256.h"
#include "llmkit/index.h"

namespace {

constexpr std::string_view kSeparator = "\n@@FILE@@\n";

std::vector<std::string> Split(std::string_view input) {
  std::vector<std::string> parts;
  while (true) {
    size_t at = input.find(kSeparator);
    parts.emplace_back(input.substr(0, at));
    if (at == std::string_view::npos) break;
    input.remove_prefix(at + kSeparator.size());
  }
  return parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool fix_manifest = data[0] & 1;
  const bool sha256 = data[0] & 2;
  std::vector<std::string> parts =
      Split(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  std::string manifest = parts[0];
  static const char* kNames[] = {"documents-1.bin", "vectors-1.bin", "index-1.bin"};
  std::vector<std::pair<std::string, std::string>> files;
  for (size_t i = 1; i < parts.size() && i <= 3; ++i) files.emplace_back(kNames[i - 1], parts[i]);
  if (fix_manifest) {
    absl::StatusOr<llmkit::Json> parsed = llmkit::Json::Parse(manifest);
    if (parsed.ok() && parsed->is_object()) {
      llmkit::Json listed = llmkit::Json::MakeArray();
      static const char* kRoles[] = {"documents", "vectors", "index"};
      for (size_t i = 0; i < files.size(); ++i) {
        llmkit::Json entry = llmkit::Json::MakeObject();
        entry.Set("role", kRoles[i]);
        entry.Set("name", files[i].first);
        entry.Set("bytes", static_cast<int64_t>(files[i].second.size()));
        if (sha256) {
          entry.Set("sha256", llmkit::internal::Sha256Hex(files[i].second));
        } else {
          entry.Set("crc32c", llmkit::internal::Crc32cHex(files[i].second));
        }
        listed.push_back(std::move(entry));
      }
      parsed->Set("files", std::move(listed));
      manifest = parsed->Dump();
    }
  }
  absl::StatusOr<std::unique_ptr<llmkit::Collection>> loaded =
      llmkit::internal::LoadCollectionFromFiles(manifest, files, /*verify_checksums=*/true);
  if (loaded.ok()) {
    std::vector<float> query((*loaded)->options().dim, 0.5f);
    (void)(*loaded)->Search(query, {.k = 3});
    (void)(*loaded)->Search(query,
                            {.k = 3, .where = llmkit::Json::Parse(R"({"i": {"$gt": 1}})").value()});
    for (const std::string& id : (*loaded)->Ids()) (void)(*loaded)->Get(id);
    // A write copies the mapped columns into memory first.
    std::vector<std::string> more = {"fuzz-new"};
    (void)(*loaded)->Add(more, query);
    (void)(*loaded)->Search(query, {.k = 3});
  }
  return 0;
}
