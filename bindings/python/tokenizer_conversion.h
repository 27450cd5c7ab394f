// Python values that name an encoding: a str ("cl100k_base") or an llmkit.Encoding.

#ifndef LLMKIT_BINDINGS_PYTHON_TOKENIZER_CONVERSION_H_
#define LLMKIT_BINDINGS_PYTHON_TOKENIZER_CONVERSION_H_

#include <pybind11/pybind11.h>

#include <memory>

#include "llmkit/tokenizer.h"

namespace llmkit::python {

// Errors: TypeError for other types; llmkit errors of Tokenizer::ForEncoding for a name.
std::shared_ptr<const Tokenizer> ToTokenizer(const pybind11::handle& encoding);

}  // namespace llmkit::python

#endif  // LLMKIT_BINDINGS_PYTHON_TOKENIZER_CONVERSION_H_
