// PromptRegistry: prompt files -> immutable versions, labels with history, an atomic manifest.

#include "llmkit/prompt_registry.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/absl_compat.h"
#include "common/files.h"
#include "common/sha256.h"
#include "llmkit/status.h"

namespace llmkit {

struct PromptRegistry::State {
  struct Label {
    std::vector<int> history;  // Last = current.
  };
  struct Entry {
    std::vector<std::shared_ptr<const PromptVersion>> versions;  // versions[i]->version == i + 1
    std::map<std::string, Label> labels;
  };
  std::map<std::string, Entry> prompts;
  std::vector<PromptEvent> events;
};

namespace {

constexpr int kManifestFormat = 1;

std::string Now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
}

// A header value as a JSON value: integers and decimals as numbers, true/false, else a string.
Json HeaderValue(std::string_view text) {
  int64_t i;
  double d;
  if (text == "true") return Json(true);
  if (text == "false") return Json(false);
  if (absl::SimpleAtoi(internal::ToAbsl(text), &i)) return Json(i);
  if (absl::SimpleAtod(internal::ToAbsl(text), &d)) return Json(d);
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
      text.back() == text.front()) {
    return Json(text.substr(1, text.size() - 2));
  }
  return Json(text);
}

// Parses a prompt file: an optional `---` header of `key: value` lines, then the body.
absl::StatusOr<PromptVersion> ParsePromptFile(const std::string& path, std::string_view stem,
                                              std::string_view content) {
  PromptVersion v;
  v.name = std::string(stem);
  v.format = "jinja2";
  v.parameters = Json::MakeObject();
  std::string_view body = content;
  bool declared_variables = false;
  if (content.substr(0, 4) == "---\n" || content.substr(0, 5) == "---\r\n") {
    size_t pos = content.find('\n') + 1;
    int line_no = 1;
    bool closed = false;
    while (pos < content.size()) {
      size_t end = content.find('\n', pos);
      if (end == std::string_view::npos) end = content.size();
      std::string_view line = content.substr(pos, end - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ++line_no;
      pos = end + 1;
      if (line == "---") {
        closed = true;
        break;
      }
      std::string_view trimmed =
          internal::ToStd(absl::StripAsciiWhitespace(internal::ToAbsl(line)));
      if (trimmed.empty() || trimmed[0] == '#') continue;
      size_t colon = trimmed.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", line_no, ": expected 'key: value' in the prompt header"));
      }
      std::string key(absl::StripAsciiWhitespace(internal::ToAbsl(trimmed.substr(0, colon))));
      std::string_view value =
          internal::ToStd(absl::StripAsciiWhitespace(internal::ToAbsl(trimmed.substr(colon + 1))));
      size_t comment = value.find(" #");
      if (comment != std::string_view::npos) {
        value =
            internal::ToStd(absl::StripAsciiWhitespace(internal::ToAbsl(value.substr(0, comment))));
      }
      if (key == "name") {
        v.name = std::string(value);
      } else if (key == "description") {
        v.description = std::string(value);
      } else if (key == "format") {
        if (value != "jinja2" && value != "f-string") {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ":", line_no, ": format must be jinja2 or f-string, not '",
                           internal::ToAbsl(value), "'"));
        }
        v.format = std::string(value);
      } else if (key == "input_variables") {
        declared_variables = true;
        std::string_view list = value;
        if (!list.empty() && list.front() == '[' && list.back() == ']')
          list = list.substr(1, list.size() - 2);
        for (absl::string_view part :
             absl::StrSplit(internal::ToAbsl(list), ',', absl::SkipWhitespace())) {
          std::string name(absl::StripAsciiWhitespace(part));
          if (name.size() >= 2 && (name.front() == '"' || name.front() == '\''))
            name = name.substr(1, name.size() - 2);
          v.input_variables.push_back(name);
        }
      } else {
        v.parameters.Set(key, HeaderValue(value));
      }
    }
    if (!closed) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": the header has no closing '---' line"));
    }
    body = content.substr(std::min(pos, content.size()));
  }
  if (v.name.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": empty prompt name"));
  v.body = std::string(body);
  // Compile; an invalid prompt is still a version (so history is complete) but never promotable.
  std::vector<std::string> used;
  if (v.format == "jinja2") {
    TemplateOptions options;
    options.undefined = UndefinedMode::kStrict;
    options.name = path;
    absl::StatusOr<Template> t = Template::Compile(v.body, options);
    if (t.ok()) {
      used = t->variables();
      v.jinja = std::make_shared<const Template>(*std::move(t));
    } else {
      v.error = std::string(t.status().message());
    }
  } else {
    absl::StatusOr<FStringTemplate> t = FStringTemplate::Compile(v.body);
    if (t.ok()) {
      used = t->variables();
      v.fstring = std::make_shared<const FStringTemplate>(*std::move(t));
    } else {
      v.error = absl::StrCat(path, ": ", t.status().message());
    }
  }
  if (!declared_variables) {
    v.input_variables = used;
  } else if (v.error.empty()) {
    for (const std::string& u : used) {
      if (std::find(v.input_variables.begin(), v.input_variables.end(), u) ==
          v.input_variables.end()) {
        v.error = absl::StrCat(path, ": the template reads '", u,
                               "', which input_variables does not declare");
        v.jinja.reset();
        v.fstring.reset();
        break;
      }
    }
  }
  return v;
}

std::string VersionFile(const std::string& dir, const PromptVersion& v) {
  return absl::StrCat(dir, "/.registry/versions/", v.name, "/", v.id, ".prompt");
}

absl::Status CheckName(std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos || name[0] == '.') {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid prompt name '", internal::ToAbsl(name), "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> PromptVersion::Render(const Json& variables) const {
  if (jinja) return jinja->Render(variables);
  if (fstring) return fstring->Render(variables);
  return absl::FailedPreconditionError(
      absl::StrCat("prompt '", name, "' version ", version, " is invalid: ", error));
}

PromptRegistry::PromptRegistry(std::string dir, PromptRegistryOptions options)
    : dir_(std::move(dir)), options_(std::move(options)), state_(std::make_shared<State>()) {}

std::shared_ptr<const PromptRegistry::State> PromptRegistry::Snapshot() const {
  std::lock_guard<std::mutex> lock(snapshot_mutex_);
  return state_;
}

absl::StatusOr<std::unique_ptr<PromptRegistry>> PromptRegistry::Open(
    std::string dir, const PromptRegistryOptions& options) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("prompt folder ", dir, " does not exist"));
  }
  std::unique_ptr<PromptRegistry> reg(new PromptRegistry(dir, options));
  const std::string manifest_path = dir + "/.registry/manifest.json";
  absl::StatusOr<std::string> text = internal::ReadFile(manifest_path);
  if (text.ok()) {
    auto corrupt = [&](std::string_view why) {
      return absl::DataLossError(absl::StrCat(manifest_path, ": ", internal::ToAbsl(why)));
    };
    absl::StatusOr<Json> manifest = Json::Parse(*text);
    if (!manifest.ok()) return corrupt(internal::ToStd(manifest.status().message()));
    const Json* format = manifest->Find("format_version");
    if (format == nullptr || !format->is_int()) return corrupt("no format_version");
    if (format->as_int() != kManifestFormat) {
      return absl::FailedPreconditionError(
          absl::StrCat(manifest_path, ": format_version ", format->as_int(), " is not supported"));
    }
    auto state = std::make_shared<State>();
    const Json* prompts = manifest->Find("prompts");
    if (prompts == nullptr || !prompts->is_object()) return corrupt("no prompts object");
    for (const auto& [name, entry_json] : prompts->as_object()) {
      LLMKIT_RETURN_IF_ERROR(CheckName(name));
      State::Entry& entry = state->prompts[name];
      const Json* versions = entry_json.Find("versions");
      if (versions == nullptr || !versions->is_array())
        return corrupt(absl::StrCat("no versions for ", name));
      for (const Json& vj : versions->as_array()) {
        const Json* hash = vj.Find("hash");
        const Json* number = vj.Find("version");
        const Json* created = vj.Find("created_at");
        if (hash == nullptr || !hash->is_string() || number == nullptr || !number->is_int() ||
            number->as_int() != static_cast<int64_t>(entry.versions.size()) + 1) {
          return corrupt(absl::StrCat("bad version record for ", name));
        }
        std::string id = absl::StrCat(number->as_int(), "-", hash->as_string().substr(0, 12));
        std::string path = absl::StrCat(dir, "/.registry/versions/", name, "/", id, ".prompt");
        absl::StatusOr<std::string> content = internal::ReadFile(path);
        if (!content.ok())
          return absl::DataLossError(absl::StrCat(path, ": ", content.status().message()));
        if (internal::Sha256Hex(*content) != hash->as_string()) {
          return absl::DataLossError(absl::StrCat(path, ": content does not match its SHA-256"));
        }
        absl::StatusOr<PromptVersion> v = ParsePromptFile(path, name, *content);
        if (!v.ok()) return absl::DataLossError(v.status().message());
        v->name = name;
        v->version = static_cast<int>(number->as_int());
        v->hash = hash->as_string();
        v->id = id;
        if (created != nullptr && created->is_string()) v->created_at = created->as_string();
        entry.versions.push_back(std::make_shared<const PromptVersion>(*std::move(v)));
      }
      if (const Json* labels = entry_json.Find("labels");
          labels != nullptr && labels->is_object()) {
        for (const auto& [label, history] : labels->as_object()) {
          if (!history.is_array()) return corrupt(absl::StrCat("bad label ", label));
          for (const Json& h : history.as_array()) {
            if (!h.is_int() || h.as_int() < 1 ||
                h.as_int() > static_cast<int64_t>(entry.versions.size())) {
              return corrupt(absl::StrCat("label ", label, " of ", name, " names no version"));
            }
            entry.labels[label].history.push_back(static_cast<int>(h.as_int()));
          }
        }
      }
    }
    if (const Json* events = manifest->Find("events"); events != nullptr && events->is_array()) {
      for (const Json& e : events->as_array()) {
        PromptEvent ev;
        auto str = [&](const char* k) {
          const Json* f = e.Find(k);
          return f != nullptr && f->is_string() ? f->as_string() : std::string();
        };
        ev.prompt = str("prompt");
        ev.label = str("label");
        ev.action = str("action");
        ev.at = str("at");
        const Json* version = e.Find("version");
        ev.version =
            version != nullptr && version->is_int() ? static_cast<int>(version->as_int()) : 0;
        state->events.push_back(std::move(ev));
      }
    }
    reg->state_ = std::move(state);
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }
  LLMKIT_RETURN_IF_ERROR(reg->Sync().status());
  return reg;
}

absl::Status PromptRegistry::Commit(std::shared_ptr<const State> next) {
  Json manifest = Json::MakeObject();
  manifest.Set("format_version", kManifestFormat);
  Json prompts = Json::MakeObject();
  for (const auto& [name, entry] : next->prompts) {
    Json e = Json::MakeObject();
    Json versions = Json::MakeArray();
    for (const auto& v : entry.versions) {
      Json vj = Json::MakeObject();
      vj.Set("version", v->version);
      vj.Set("hash", v->hash);
      vj.Set("created_at", v->created_at);
      if (!v->error.empty()) vj.Set("error", v->error);
      versions.push_back(std::move(vj));
    }
    e.Set("versions", std::move(versions));
    Json labels = Json::MakeObject();
    for (const auto& [label, l] : entry.labels) {
      Json history = Json::MakeArray();
      for (int h : l.history) history.push_back(h);
      labels.Set(label, std::move(history));
    }
    e.Set("labels", std::move(labels));
    prompts.Set(name, std::move(e));
  }
  manifest.Set("prompts", std::move(prompts));
  Json events = Json::MakeArray();
  for (const PromptEvent& ev : next->events) {
    Json ej = Json::MakeObject();
    ej.Set("prompt", ev.prompt);
    ej.Set("label", ev.label);
    ej.Set("version", ev.version);
    ej.Set("action", ev.action);
    ej.Set("at", ev.at);
    events.push_back(std::move(ej));
  }
  manifest.Set("events", std::move(events));
  LLMKIT_RETURN_IF_ERROR(internal::WriteAtomically(dir_ + "/.registry/manifest.json",
                                                   manifest.Dump(JsonDumpOptions::PythonStyle(1))));
  std::lock_guard<std::mutex> lock(snapshot_mutex_);
  state_ = std::move(next);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PromptVersion>> PromptRegistry::Sync() {
  std::lock_guard<std::mutex> writer(write_mutex_);
  std::vector<std::string> files;
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) return absl::NotFoundError(absl::StrCat("cannot list ", dir_));
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    if (name.size() > options_.suffix.size() &&
        name.compare(name.size() - options_.suffix.size(), options_.suffix.size(),
                     options_.suffix) == 0) {
      files.push_back(name);
    }
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  auto next = std::make_shared<State>(*Snapshot());
  std::vector<PromptVersion> added;
  for (const std::string& file : files) {
    std::string path = dir_ + "/" + file;
    LLMKIT_ASSIGN_OR_RETURN(std::string content, internal::ReadFile(path));
    std::string stem = file.substr(0, file.size() - options_.suffix.size());
    LLMKIT_ASSIGN_OR_RETURN(PromptVersion v, ParsePromptFile(path, stem, content));
    LLMKIT_RETURN_IF_ERROR(CheckName(v.name));
    v.hash = internal::Sha256Hex(content);
    State::Entry& entry = next->prompts[v.name];
    bool known = std::any_of(entry.versions.begin(), entry.versions.end(),
                             [&](const auto& old) { return old->hash == v.hash; });
    if (known) continue;
    v.version = static_cast<int>(entry.versions.size()) + 1;
    v.id = absl::StrCat(v.version, "-", v.hash.substr(0, 12));
    v.created_at = Now();
    std::string copy = VersionFile(dir_, v);
    if (!internal::MakeDirs(copy.substr(0, copy.rfind('/')))) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", copy.substr(0, copy.rfind('/'))));
    }
    LLMKIT_RETURN_IF_ERROR(internal::WriteAtomically(copy, content));
    entry.versions.push_back(std::make_shared<const PromptVersion>(v));
    added.push_back(std::move(v));
  }
  if (!added.empty()) LLMKIT_RETURN_IF_ERROR(Commit(std::move(next)));
  return added;
}

absl::StatusOr<PromptVersion> PromptRegistry::GetVersion(std::string_view name, int version) const {
  std::shared_ptr<const State> state = Snapshot();
  auto it = state->prompts.find(std::string(name));
  if (it == state->prompts.end()) {
    return absl::NotFoundError(absl::StrCat("no prompt named '", internal::ToAbsl(name), "'"));
  }
  if (version < 1 || version > static_cast<int>(it->second.versions.size())) {
    return absl::NotFoundError(
        absl::StrCat("prompt '", internal::ToAbsl(name), "' has no version ", version));
  }
  return *it->second.versions[version - 1];
}

absl::StatusOr<PromptVersion> PromptRegistry::Get(std::string_view name,
                                                  std::string_view label) const {
  std::shared_ptr<const State> state = Snapshot();
  auto it = state->prompts.find(std::string(name));
  if (it == state->prompts.end() || it->second.versions.empty()) {
    return absl::NotFoundError(absl::StrCat("no prompt named '", internal::ToAbsl(name), "'"));
  }
  if (label == "latest") return *it->second.versions.back();
  auto l = it->second.labels.find(std::string(label));
  if (l == it->second.labels.end() || l->second.history.empty()) {
    return absl::NotFoundError(absl::StrCat("prompt '", internal::ToAbsl(name), "' has no label '",
                                            internal::ToAbsl(label), "'"));
  }
  return *it->second.versions[l->second.history.back() - 1];
}

absl::Status PromptRegistry::Promote(std::string_view name, int version, std::string_view label) {
  if (label.empty() || label == "latest") {
    return absl::InvalidArgumentError("the label 'latest' always names the newest version");
  }
  std::lock_guard<std::mutex> writer(write_mutex_);
  LLMKIT_ASSIGN_OR_RETURN(PromptVersion v, GetVersion(name, version));
  if (!v.error.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot promote '", internal::ToAbsl(name),
                                                      "' version ", version, ": ", v.error));
  }
  auto next = std::make_shared<State>(*Snapshot());
  next->prompts[std::string(name)].labels[std::string(label)].history.push_back(version);
  next->events.push_back({std::string(name), std::string(label), version, "promote", Now()});
  return Commit(std::move(next));
}

absl::StatusOr<int> PromptRegistry::Rollback(std::string_view name, std::string_view label) {
  std::lock_guard<std::mutex> writer(write_mutex_);
  auto next = std::make_shared<State>(*Snapshot());
  auto it = next->prompts.find(std::string(name));
  if (it == next->prompts.end()) {
    return absl::NotFoundError(absl::StrCat("no prompt named '", internal::ToAbsl(name), "'"));
  }
  auto l = it->second.labels.find(std::string(label));
  if (l == it->second.labels.end()) {
    return absl::NotFoundError(absl::StrCat("prompt '", internal::ToAbsl(name), "' has no label '",
                                            internal::ToAbsl(label), "'"));
  }
  if (l->second.history.size() < 2) {
    return absl::FailedPreconditionError(absl::StrCat("label '", internal::ToAbsl(label), "' of '",
                                                      internal::ToAbsl(name),
                                                      "' has no earlier version"));
  }
  l->second.history.pop_back();
  int version = l->second.history.back();
  next->events.push_back({std::string(name), std::string(label), version, "rollback", Now()});
  LLMKIT_RETURN_IF_ERROR(Commit(std::move(next)));
  return version;
}

std::vector<std::string> PromptRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : Snapshot()->prompts) names.push_back(name);
  return names;
}

std::vector<PromptVersion> PromptRegistry::Versions(std::string_view name) const {
  std::vector<PromptVersion> out;
  std::shared_ptr<const State> state = Snapshot();
  auto it = state->prompts.find(std::string(name));
  if (it != state->prompts.end()) {
    for (const auto& v : it->second.versions) out.push_back(*v);
  }
  return out;
}

std::vector<std::pair<std::string, int>> PromptRegistry::Labels(std::string_view name) const {
  std::vector<std::pair<std::string, int>> out;
  std::shared_ptr<const State> state = Snapshot();
  auto it = state->prompts.find(std::string(name));
  if (it != state->prompts.end()) {
    for (const auto& [label, l] : it->second.labels) {
      if (!l.history.empty()) out.emplace_back(label, l.history.back());
    }
  }
  return out;
}

std::vector<PromptEvent> PromptRegistry::History(std::string_view name) const {
  std::vector<PromptEvent> out;
  for (const PromptEvent& e : Snapshot()->events) {
    if (name.empty() || e.prompt == name) out.push_back(e);
  }
  return out;
}

}  // namespace llmkit
