// The RAG pipeline on a remote store: the checks both store tests run against their server.

#ifndef LLMKIT_TESTS_STORES_RAG_ON_STORE_H_
#define LLMKIT_TESTS_STORES_RAG_ON_STORE_H_

#include <functional>
#include <memory>

#include "llmkit/store.h"

namespace llmkit::testing {

// `open` returns a new handle on one empty store of dimension 256 (cosine), the same store on
// every call. Runs gtest assertions: a pipeline on it answers as a local pipeline does, a
// second pipeline opened on the store alone (another process) rebuilds its lexical side and
// change detection from the chunks, Save/Load name the store, Remove reaches it.
void CheckRagPipelineOnStore(const std::function<std::shared_ptr<VectorStore>()>& open);

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_STORES_RAG_ON_STORE_H_
