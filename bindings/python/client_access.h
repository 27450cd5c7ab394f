// The C++ models behind the Python client classes (OpenAIClient, AnthropicClient, ChatModel),
// for bindings of parts that take a model (RagPipeline).

#ifndef LLMKIT_BINDINGS_PYTHON_CLIENT_ACCESS_H_
#define LLMKIT_BINDINGS_PYTHON_CLIENT_ACCESS_H_

#include <pybind11/pybind11.h>

#include <memory>

#include "llmkit/chat.h"
#include "llmkit/embeddings.h"

namespace llmkit::python {

struct ModelHandles {
  std::shared_ptr<ChatModel> chat;
  std::shared_ptr<EmbeddingModel> embeddings;  // Null for clients that do not embed.
};

// Raises TypeError for anything but the client classes.
ModelHandles ModelsOf(const pybind11::handle& model);  // client_bindings.cc
// A llmkit.ChatModel over these models (for decorators bound elsewhere: with_tracing).
pybind11::object ModelFrom(ModelHandles models);  // client_bindings.cc

}  // namespace llmkit::python

#endif  // LLMKIT_BINDINGS_PYTHON_CLIENT_ACCESS_H_
