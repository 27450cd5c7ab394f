// The built-in encodings, model names, and where rank files come from: the caches, and an
// opt-in download checked against the published SHA-256.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/absl_compat.h"
#include "common/files.h"
#include "llmkit/http.h"
#include "llmkit/status.h"
#include "llmkit/tokenizer.h"

namespace llmkit {
namespace {

using internal::MakeDirs;
using internal::WriteAtomically;

constexpr char kOfficialBase[] = "https://openaipublic.blob.core.windows.net/encodings";

struct Builtin {
  const char* name;
  const char* file;  // Rank file name under the base URL.
  PreSplit pre_split;
  const char* sha256;
  const char* url_sha1;  // tiktoken's cache file name: SHA-1 of the official URL.
};

constexpr Builtin kBuiltins[] = {
    {"r50k_base", "r50k_base.tiktoken", PreSplit::kGpt2,
     "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
     "0ea1e91bbb3a60f729a8dc8f777fd2fc07cd8df4"},
    {"p50k_base", "p50k_base.tiktoken", PreSplit::kGpt2,
     "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
     "ec7223a39ce59f226a68acc30dc1af2788490e15"},
    {"p50k_edit", "p50k_base.tiktoken", PreSplit::kGpt2,
     "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
     "ec7223a39ce59f226a68acc30dc1af2788490e15"},
    {"cl100k_base", "cl100k_base.tiktoken", PreSplit::kCl100k,
     "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
     "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"},
    {"o200k_base", "o200k_base.tiktoken", PreSplit::kO200k,
     "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
     "fb374d419588a4632f3f557e76b4b70aebbca790"},
};

std::vector<std::pair<std::string, Token>> SpecialTokensOf(std::string_view name) {
  if (name == "r50k_base" || name == "p50k_base") return {{"<|endoftext|>", 50256}};
  if (name == "p50k_edit") {
    return {{"<|endoftext|>", 50256},
            {"<|fim_prefix|>", 50281},
            {"<|fim_middle|>", 50282},
            {"<|fim_suffix|>", 50283}};
  }
  if (name == "cl100k_base") {
    return {{"<|endoftext|>", 100257},
            {"<|fim_prefix|>", 100258},
            {"<|fim_middle|>", 100259},
            {"<|fim_suffix|>", 100260},
            {"<|endofprompt|>", 100276}};
  }
  return {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}};  // o200k_base
}

const Builtin* FindBuiltin(std::string_view name) {
  for (const Builtin& b : kBuiltins) {
    if (name == b.name) return &b;
  }
  return nullptr;
}

// Model names and prefixes, as tiktoken's model.py (longest prefix first where they nest).
constexpr std::pair<const char*, const char*> kModelPrefixes[] = {
    {"o1-", "o200k_base"},
    {"o3-", "o200k_base"},
    {"o4-mini-", "o200k_base"},
    {"gpt-5-", "o200k_base"},
    {"gpt-4.5-", "o200k_base"},
    {"gpt-4.1-", "o200k_base"},
    {"chatgpt-4o-", "o200k_base"},
    {"gpt-4o-", "o200k_base"},
    {"gpt-4-", "cl100k_base"},
    {"gpt-3.5-turbo-", "cl100k_base"},
    {"gpt-35-turbo-", "cl100k_base"},
    {"ft:gpt-4o", "o200k_base"},
    {"ft:gpt-4", "cl100k_base"},
    {"ft:gpt-3.5-turbo", "cl100k_base"},
    {"ft:davinci-002", "cl100k_base"},
    {"ft:babbage-002", "cl100k_base"},
};

constexpr std::pair<const char*, const char*> kModels[] = {
    {"o1", "o200k_base"},
    {"o3", "o200k_base"},
    {"o4-mini", "o200k_base"},
    {"gpt-5", "o200k_base"},
    {"gpt-4.1", "o200k_base"},
    {"gpt-4o", "o200k_base"},
    {"gpt-4", "cl100k_base"},
    {"gpt-3.5-turbo", "cl100k_base"},
    {"gpt-3.5", "cl100k_base"},
    {"gpt-35-turbo", "cl100k_base"},
    {"davinci-002", "cl100k_base"},
    {"babbage-002", "cl100k_base"},
    {"text-embedding-ada-002", "cl100k_base"},
    {"text-embedding-3-small", "cl100k_base"},
    {"text-embedding-3-large", "cl100k_base"},
    {"text-davinci-003", "p50k_base"},
    {"text-davinci-002", "p50k_base"},
    {"text-davinci-001", "r50k_base"},
    {"text-curie-001", "r50k_base"},
    {"text-babbage-001", "r50k_base"},
    {"text-ada-001", "r50k_base"},
    {"davinci", "r50k_base"},
    {"curie", "r50k_base"},
    {"babbage", "r50k_base"},
    {"ada", "r50k_base"},
    {"code-davinci-002", "p50k_base"},
    {"code-davinci-001", "p50k_base"},
    {"code-cushman-002", "p50k_base"},
    {"code-cushman-001", "p50k_base"},
    {"davinci-codex", "p50k_base"},
    {"cushman-codex", "p50k_base"},
    {"text-davinci-edit-001", "p50k_edit"},
    {"code-davinci-edit-001", "p50k_edit"},
    {"text-similarity-davinci-001", "r50k_base"},
    {"text-similarity-curie-001", "r50k_base"},
    {"text-similarity-babbage-001", "r50k_base"},
    {"text-similarity-ada-001", "r50k_base"},
    {"text-search-davinci-doc-001", "r50k_base"},
    {"text-search-curie-doc-001", "r50k_base"},
    {"text-search-babbage-doc-001", "r50k_base"},
    {"text-search-ada-doc-001", "r50k_base"},
    {"code-search-babbage-code-001", "r50k_base"},
    {"code-search-ada-code-001", "r50k_base"},
};

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// Keeps a download's body, refusing more than a rank file could be.
class BoundedBody : public StreamHandler {
 public:
  bool OnHeaders(int, const HttpHeaders&) override { return true; }
  bool OnData(std::string_view bytes) override {
    if (body.size() + bytes.size() > (64 << 20)) return false;
    body.append(bytes);
    return true;
  }
  std::string body;
};

absl::StatusOr<std::string> Download(const std::string& url, const std::string& ca_path) {
  CurlTransportOptions transport_options;
  transport_options.ca_path = ca_path;
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<HttpTransport> transport,
                          NewCurlTransport(transport_options));
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.connect_timeout = std::chrono::seconds(30);
  request.timeout = std::chrono::seconds(300);
  BoundedBody handler;
  absl::StatusOr<HttpResponse> response = transport->Send(std::move(request), &handler);
  if (!response.ok()) {
    return absl::UnavailableError(
        absl::StrCat("downloading ", url, " failed: ", response.status().message()));
  }
  if (response->status != 200) {
    return WithPayload(absl::UnavailableError(
                           absl::StrCat("downloading ", url, " failed: HTTP ", response->status)),
                       kPayloadHttpStatus, absl::StrCat(response->status));
  }
  return std::move(handler.body);
}

// The cache directories, most specific first.
std::vector<std::string> LlmkitCacheDirs(const TokenizerLoadOptions& options) {
  std::vector<std::string> dirs;
  if (!options.cache_dir.empty()) dirs.push_back(options.cache_dir);
  if (std::string env = Env("LLMKIT_CACHE_DIR"); !env.empty()) dirs.push_back(env);
  if (std::string xdg = Env("XDG_CACHE_HOME"); !xdg.empty()) {
    dirs.push_back(xdg + "/llmkit");
  } else if (std::string home = Env("HOME"); !home.empty()) {
    dirs.push_back(home + "/.cache/llmkit");
  }
  return dirs;
}

// tiktoken's cache directory, or "" when caching is disabled (TIKTOKEN_CACHE_DIR="").
std::string TiktokenCacheDir() {
  if (const char* dir = std::getenv("TIKTOKEN_CACHE_DIR")) return dir;
  if (const char* dir = std::getenv("DATA_GYM_CACHE_DIR")) return dir;
  std::string tmp = Env("TMPDIR");
  return (tmp.empty() ? std::string("/tmp") : tmp) + "/data-gym-cache";
}

absl::StatusOr<std::shared_ptr<const Tokenizer>> Load(const Builtin& builtin,
                                                      const TokenizerLoadOptions& options) {
  absl::StatusOr<EncodingSpec> spec = BuiltinEncoding(builtin.name);
  if (!spec.ok()) return spec.status();
  std::vector<std::string> candidates;
  for (const std::string& dir : LlmkitCacheDirs(options)) {
    candidates.push_back(absl::StrCat(dir, "/", builtin.file));
  }
  if (std::string dir = TiktokenCacheDir(); !dir.empty()) {
    candidates.push_back(absl::StrCat(dir, "/", builtin.url_sha1));
  }
  for (const std::string& path : candidates) {
    absl::StatusOr<std::shared_ptr<const Tokenizer>> tokenizer = Tokenizer::FromFile(path, *spec);
    if (tokenizer.ok()) return tokenizer;
    if (tokenizer.status().code() == absl::StatusCode::kNotFound) continue;  // Not there.
    if (!options.allow_download) {
      return absl::DataLossError(absl::StrCat(
          tokenizer.status().message(), "; delete the file, or allow the download to replace it"));
    }
  }
  if (!options.allow_download) {
    return absl::NotFoundError(
        absl::StrCat("no rank file for ", builtin.name, "; looked in ",
                     absl::StrJoin(candidates, ", "), ". Put ", builtin.file,
                     " in $LLMKIT_CACHE_DIR, or set allow_download to fetch it from OpenAI"));
  }
  std::string base = options.download_base_url.empty() ? kOfficialBase : options.download_base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string url = absl::StrCat(base, "/", builtin.file);
  LLMKIT_ASSIGN_OR_RETURN(std::string body, Download(url, options.ca_path));
  // FromRanks checks the SHA-256 before anything is used or stored.
  absl::StatusOr<std::shared_ptr<const Tokenizer>> tokenizer =
      Tokenizer::FromRanks(body, *std::move(spec));
  if (!tokenizer.ok()) {
    return absl::Status(
        tokenizer.status().code(),
        absl::StrCat(tokenizer.status().message(), " (downloaded from ", url, "; not used)"));
  }
  std::vector<std::string> dirs = LlmkitCacheDirs(options);
  if (!dirs.empty()) {
    // A cache that cannot be written only costs a download next time.
    (void)WriteAtomically(absl::StrCat(dirs.front(), "/", builtin.file), body);
  }
  return tokenizer;
}

}  // namespace

absl::StatusOr<EncodingSpec> BuiltinEncoding(std::string_view name) {
  const Builtin* builtin = FindBuiltin(name);
  if (builtin == nullptr) {
    std::vector<std::string> names;
    for (const Builtin& b : kBuiltins) names.emplace_back(b.name);
    return absl::NotFoundError(absl::StrCat("unknown encoding \"", internal::ToAbsl(name),
                                            "\"; known: ", absl::StrJoin(names, ", ")));
  }
  EncodingSpec spec;
  spec.name = builtin->name;
  spec.pre_split = builtin->pre_split;
  spec.special_tokens = SpecialTokensOf(builtin->name);
  spec.url = absl::StrCat(kOfficialBase, "/", builtin->file);
  spec.sha256 = builtin->sha256;
  return spec;
}

absl::StatusOr<std::string> EncodingNameForModel(std::string_view model) {
  for (const auto& [name, encoding] : kModels) {
    if (model == name) return std::string(encoding);
  }
  for (const auto& [prefix, encoding] : kModelPrefixes) {
    if (model.substr(0, std::strlen(prefix)) == prefix) return std::string(encoding);
  }
  return absl::NotFoundError(
      absl::StrCat("no known encoding for model \"", internal::ToAbsl(model),
                   "\"; use Tokenizer::ForEncoding with an encoding name instead"));
}

absl::StatusOr<std::shared_ptr<const Tokenizer>> Tokenizer::ForEncoding(
    std::string_view name, const TokenizerLoadOptions& options) {
  const Builtin* builtin = FindBuiltin(name);
  if (builtin == nullptr) return BuiltinEncoding(name).status();
  static std::mutex mu;
  static auto* loaded = new std::map<std::string, std::shared_ptr<const Tokenizer>, std::less<>>;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = loaded->find(name); it != loaded->end()) return it->second;
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<const Tokenizer> tokenizer, Load(*builtin, options));
  loaded->emplace(std::string(name), tokenizer);
  return tokenizer;
}

absl::StatusOr<std::shared_ptr<const Tokenizer>> Tokenizer::ForModel(
    std::string_view model, const TokenizerLoadOptions& options) {
  LLMKIT_ASSIGN_OR_RETURN(std::string name, EncodingNameForModel(model));
  return ForEncoding(name, options);
}

}  // namespace llmkit
