// The C++ models behind the Python client classes (OpenAIClient, AnthropicClient, ChatModel),
// for bindings of parts that take a model (RagPipeline).

#ifndef LLMKIT_BINDINGS_PYTHON_CLIENT_ACCESS_H_
#define LLMKIT_BINDINGS_PYTHON_CLIENT_ACCESS_H_

#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "llmkit/chat.h"
#include "llmkit/cost.h"
#include "llmkit/embeddings.h"

namespace llmkit::python {

struct ModelHandles {
  std::shared_ptr<ChatModel> chat;
  std::shared_ptr<EmbeddingModel> embeddings;  // Null for clients that do not embed.
  std::string default_model;                   // A request naming none goes to it ("": unknown).
};

// An OpenAI-style message dict (role, content: str, None or a list of text/image_url parts,
// tool_calls, tool_call_id) as a Message; StatusError(kInvalidArgument) naming messages[index].
Message ToMessage(const Json& m, size_t index);  // client_bindings.cc
// A Message as such a dict (content None for an assistant message with only tool calls).
pybind11::dict MessageDict(const Message& m);  // client_bindings.cc

// Raises TypeError for anything but the client classes.
ModelHandles ModelsOf(const pybind11::handle& model);  // client_bindings.cc
// A llmkit.ChatModel over these models (for decorators bound elsewhere: with_tracing).
pybind11::object ModelFrom(ModelHandles models);  // client_bindings.cc
// The table of a llmkit.PriceTable (None: null); TypeError for anything else.
std::shared_ptr<const PriceTable> PriceTableOf(const pybind11::handle& prices);  // cost_bindings.cc

}  // namespace llmkit::python

#endif  // LLMKIT_BINDINGS_PYTHON_CLIENT_ACCESS_H_
