// Prompt templates: a Jinja2 template, a model's chat template, and a LangChain f-string prompt.
// ctest runs it and checks the output.
//
//   build/release/examples/templates_quickstart

#include <cstdio>
#include <string>
#include <vector>

#include "llmkit/json.h"
#include "llmkit/template.h"

int main() {
  // Compile once (thread-safe to share), render many times. Strict mode names missing inputs.
  absl::StatusOr<llmkit::Template> prompt = llmkit::Template::Compile(
      "Answer using only these passages.\n"
      "{% for p in passages %}[{{ loop.index }}] {{ p.text | trim }}\n{% endfor %}"
      "Question: {{ question }}",
      {.undefined = llmkit::UndefinedMode::kStrict});
  if (!prompt.ok()) return 1;
  absl::StatusOr<llmkit::Json> vars = llmkit::Json::Parse(R"({
    "question": "Who wrote it?",
    "passages": [{"text": " Ada wrote the notes. "}, {"text": "They date from 1843."}]})");
  absl::StatusOr<std::string> text = prompt->Render(*vars);
  if (!text.ok()) return 1;
  std::printf("%s\n---\n", text->c_str());

  // The same variables straight from the host's own structures: no Json, strings not copied.
  struct Passage {
    std::string text;
  };
  const std::vector<Passage> passages = {{" Ada wrote the notes. "}, {"They date from 1843."}};
  llmkit::TemplateValues values;  // Reusable: Clear() keeps its storage for the next render.
  values.BeginObject();
  values.Key("question");
  values.String("Who wrote it?");
  values.Key("passages");
  values.BeginArray();
  for (const Passage& p : passages) {
    values.BeginObject();
    values.Key("text");
    values.String(p.text);  // A view: p.text must outlive the render.
    values.End();
  }
  values.End();
  values.End();
  absl::StatusOr<std::string> same = prompt->Render(values);
  if (!same.ok() || *same != *text) return 1;

  // A model's chat template, rendered as transformers' apply_chat_template does.
  absl::StatusOr<llmkit::ChatTemplate> chat = llmkit::ChatTemplate::Compile(
      "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
      "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}");
  if (!chat.ok()) return 1;
  absl::StatusOr<llmkit::Json> messages =
      llmkit::Json::Parse(R"([{"role": "user", "content": "Hi!"}])");
  absl::StatusOr<std::string> formatted =
      chat->Apply(*messages, /*tools=*/nullptr, /*add_generation_prompt=*/true);
  if (!formatted.ok()) return 1;
  std::printf("%s---\n", formatted->c_str());

  // A LangChain PromptTemplate, unchanged.
  absl::StatusOr<llmkit::FStringTemplate> legacy =
      llmkit::FStringTemplate::Compile("Summarize {topic} in {words} words.");
  llmkit::Json fields = llmkit::Json::MakeObject();
  fields.Set("topic", "the notes");
  fields.Set("words", 20);
  std::printf("%s\n", legacy->Render(fields)->c_str());
  return 0;
}
