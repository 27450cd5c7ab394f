// Versioned prompts: a folder of prompt files, each distinct content an immutable version,
// labels (production, staging, any name) pointing at versions, promotion and rollback, history.
//
//   prompts/qa.prompt:
//     ---
//     name: qa
//     description: Answer a question from retrieved passages
//     format: jinja2                 # or f-string (LangChain's {variable} prompts)
//     model: gpt-4o-mini             # any other key is a model parameter
//     temperature: 0.2
//     input_variables: question, passages
//     ---
//     Answer {{ question }} using only:
//     {% for p in passages %}- {{ p }}
//     {% endfor %}
//
//   absl::StatusOr<std::unique_ptr<llmkit::PromptRegistry>> reg =
//       llmkit::PromptRegistry::Open("prompts");
//   (*reg)->Promote("qa", 1, "production");
//   absl::StatusOr<llmkit::PromptVersion> p = (*reg)->Get("qa", "production");
//   absl::StatusOr<std::string> text = p->Render(variables);
//
// Versions: Open (and Sync) read every `*.prompt` file; content never seen for that prompt
// becomes version N+1, identified by N and the SHA-256 of the file ("3-9f2c1a0b7e44"). A
// version's content is copied under `<dir>/.registry/versions/`, so editing or deleting the file
// never changes it. The label "latest" always names the newest version.
//
// Persistence: `<dir>/.registry/manifest.json` (format version, versions with their hashes,
// labels with their history, an event log), written atomically (temporary file, fsync, rename)
// after every change. Version files are checked against their hash when loaded: a corrupt or
// truncated manifest or version file gives kDataLoss naming the file.
//
// Validation: a version whose template fails to compile, or that reads variables its header
// does not declare, is recorded (with the error) but cannot be promoted (kFailedPrecondition).
//
// Threads: all methods may be called from many threads. Readers (Get, Versions, Labels,
// History) work on an immutable snapshot and never wait for a writer's file I/O; writers (Sync,
// Promote, Rollback) are serialized. One process should write a folder at a time.

#ifndef LLMKIT_PROMPT_REGISTRY_H_
#define LLMKIT_PROMPT_REGISTRY_H_

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "llmkit/json.h"
#include "llmkit/template.h"

namespace llmkit {

// One immutable version of a prompt, compiled.
struct PromptVersion {
  std::string name;
  int version = 0;   // 1, 2, 3... per prompt.
  std::string hash;  // SHA-256 (hex) of the prompt file's bytes.
  std::string id;    // "<version>-<first 12 hex digits of hash>"
  std::string description;
  std::string format;  // "jinja2" or "f-string"
  Json parameters;     // Header keys other than name/description/format/input_variables.
  std::vector<std::string> input_variables;  // Declared, or the template's own when undeclared.
  std::string body;                          // The template text.
  std::string created_at;                    // RFC 3339, UTC.
  std::string error;                         // Why it cannot be promoted; empty when valid.

  // Renders the body with `variables` (an object). Jinja2 prompts render in strict mode, so a
  // missing variable is an error naming it. Errors: kFailedPrecondition for an invalid version.
  absl::StatusOr<std::string> Render(const Json& variables) const;

  std::shared_ptr<const Template> jinja;           // Set for valid jinja2 versions.
  std::shared_ptr<const FStringTemplate> fstring;  // Set for valid f-string versions.
};

// A label's move, as the history records it.
struct PromptEvent {
  std::string prompt;
  std::string label;
  int version = 0;
  std::string action;  // "promote" or "rollback"
  std::string at;      // RFC 3339, UTC
};

struct PromptRegistryOptions {
  // The file suffix prompt files carry.
  std::string suffix = ".prompt";
};

class PromptRegistry {
 public:
  // Loads the manifest (if any) and syncs the folder. Errors: kNotFound (no such folder),
  // kDataLoss (corrupt manifest or version file, naming it), kInvalidArgument (a prompt file
  // with a malformed header, naming the file and line).
  static absl::StatusOr<std::unique_ptr<PromptRegistry>> Open(
      std::string dir, const PromptRegistryOptions& options = {});

  // Reads the folder again; returns the versions it added (changed or new files).
  absl::StatusOr<std::vector<PromptVersion>> Sync();

  // The version a label points at ("latest" = the newest). Errors: kNotFound (no such prompt
  // or label).
  absl::StatusOr<PromptVersion> Get(std::string_view name, std::string_view label = "latest") const;
  absl::StatusOr<PromptVersion> GetVersion(std::string_view name, int version) const;

  // Points `label` at `version` (pushing it on the label's history). Errors: kNotFound,
  // kFailedPrecondition (the version does not compile or declares too few variables),
  // kInvalidArgument ("latest" cannot be moved).
  absl::Status Promote(std::string_view name, int version, std::string_view label);

  // Moves `label` back to the version it pointed at before; returns that version.
  // Errors: kNotFound, kFailedPrecondition (no earlier version for this label).
  absl::StatusOr<int> Rollback(std::string_view name, std::string_view label);

  std::vector<std::string> Names() const;
  std::vector<PromptVersion> Versions(std::string_view name) const;
  // Label -> version for one prompt (without "latest").
  std::vector<std::pair<std::string, int>> Labels(std::string_view name) const;
  // Every label move of `name` (all prompts when empty), oldest first.
  std::vector<PromptEvent> History(std::string_view name = {}) const;

  const std::string& dir() const { return dir_; }

  struct State;  // Internal.

 private:
  PromptRegistry(std::string dir, PromptRegistryOptions options);
  std::shared_ptr<const State> Snapshot() const;
  absl::Status Commit(std::shared_ptr<const State> next);  // Writes the manifest, then swaps.

  std::string dir_;
  PromptRegistryOptions options_;
  mutable std::mutex snapshot_mutex_;  // Guards state_ (the pointer only).
  std::shared_ptr<const State> state_;
  std::mutex write_mutex_;  // Serializes writers.
};

}  // namespace llmkit

#endif  // LLMKIT_PROMPT_REGISTRY_H_
