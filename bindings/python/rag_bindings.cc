// Python bindings of the RAG pipeline: RagPipeline, Passage, Answer, IngestStats.

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "call_conversion.h"
#include "client_access.h"
#include "interrupt.h"
#include "json_conversion.h"
#include "llmkit/rag.h"
#include "llmkit/store.h"
#include "option_conversion.h"
#include "status_conversion.h"

namespace py = pybind11;

namespace llmkit::python {
namespace {

std::shared_ptr<EmbeddingModel> EmbedderOf(const py::object& embedder) {
  if (embedder.is_none()) return nullptr;
  ModelHandles models = ModelsOf(embedder);
  if (models.embeddings == nullptr) {
    throw py::type_error("embedder must embed: an OpenAIClient, or a ChatModel wrapping one");
  }
  return models.embeddings;
}

std::shared_ptr<ChatModel> ChatOf(const py::object& chat) {
  return chat.is_none() ? nullptr : ModelsOf(chat).chat;
}

// A progress callable from Python, called with the GIL held; a raised exception or Ctrl-C stops
// the ingest, and is re-raised afterwards.
struct PythonProgress {
  py::object callable;
  std::shared_ptr<py::error_already_set> error;

  std::function<bool(const IngestProgress&)> Wrap() {
    return [this](const IngestProgress& p) {
      py::gil_scoped_acquire acquire;
      try {
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (!callable.is_none()) {
          py::object keep_going = callable(p);
          if (!keep_going.is_none()) {
            const int truth = PyObject_IsTrue(keep_going.ptr());
            if (truth < 0) throw py::error_already_set();
            if (truth == 0) return false;
          }
        }
        return true;
      } catch (py::error_already_set& e) {
        error = std::make_shared<py::error_already_set>(std::move(e));
        return false;
      }
    };
  }
};

// Runs an ingest on a worker thread (RunInterruptible: Ctrl-C cancels it through the call
// context, and what was committed stays).
IngestProgress RunIngest(
    const py::object& progress, size_t group_chunks, CallContext call,
    const std::function<absl::StatusOr<IngestProgress>(const IngestOptions&, const CallContext&)>&
        run) {
  PythonProgress python{progress, nullptr};
  IngestOptions options;
  options.group_chunks = group_chunks;
  options.progress = python.Wrap();
  absl::StatusOr<IngestProgress> result =
      RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
        call.cancellation = std::move(cancellation);
        return run(options, call);
      });
  if (python.error != nullptr) throw *python.error;
  return ValueOrThrow(std::move(result));
}

// RagPipeline.ingest_directory (and its deprecated spelling ingest_dir).
IngestProgress IngestDirectory(RagPipeline& rag, const std::string& dir,
                               std::optional<std::vector<std::string>> extensions,
                               bool remove_missing, size_t max_file_bytes, py::object progress,
                               size_t group_chunks, std::optional<double> timeout,
                               py::object tags) {
  DirectoryOptions directory;
  if (extensions) directory.extensions = *extensions;
  directory.remove_missing = remove_missing;
  directory.max_file_bytes = max_file_bytes;
  return RunIngest(progress, group_chunks, ToCallContext(timeout, std::nullopt, tags),
                   [&](const IngestOptions& o, const CallContext& call) {
                     return rag.IngestDirectory(dir, directory, o, call);
                   });
}

#define LLMKIT_INGEST_DIRECTORY_ARGS                                          \
  py::arg("dir"), py::kw_only(),                                              \
      py::arg("extensions") = py::none(), py::arg("remove_missing") = true,   \
      py::arg("max_file_bytes") = 16 << 20, py::arg("progress") = py::none(), \
      py::arg("group_chunks") = 1024, py::arg("timeout") = py::none(),        \
      py::arg("tags") = py::none()

// A str field of a document, or a TypeError naming the document, the field and the type given.
std::string StringField(const py::handle& value, size_t index, const char* field) {
  if (!PyUnicode_Check(value.ptr())) {
    throw py::type_error(absl::StrCat("documents[", index, "]: ", field, " must be str, got ",
                                      Py_TYPE(value.ptr())->tp_name));
  }
  return value.cast<std::string>();
}

// documents[index]: (id, text[, metadata[, path]]) or a dict with those keys.
RagDocument DocumentOf(const py::handle& item, size_t index) {
  RagDocument doc;
  if (PyDict_Check(item.ptr())) {
    py::dict d = py::reinterpret_borrow<py::dict>(item);
    for (const char* key : {"id", "text"}) {
      if (!d.contains(key)) {
        throw py::type_error(absl::StrCat("documents[", index, "]: the dict has no \"", key,
                                          "\" key (keys: id, text, metadata, path)"));
      }
    }
    doc.id = StringField(d["id"], index, "id");
    doc.text = StringField(d["text"], index, "text");
    if (d.contains("metadata")) doc.metadata = PythonToJson(d["metadata"]);
    if (d.contains("path") && !d["path"].is_none())
      doc.path = StringField(d["path"], index, "path");
    return doc;
  }
  if (!PyTuple_Check(item.ptr()) && !PyList_Check(item.ptr())) {
    throw py::type_error(absl::StrCat("documents[", index,
                                      "] must be a tuple (id, text[, metadata[, path]]) or a dict, "
                                      "got ",
                                      Py_TYPE(item.ptr())->tp_name));
  }
  py::sequence t = py::reinterpret_borrow<py::sequence>(item);
  if (t.size() < 2 || t.size() > 4) {
    ThrowIfError(absl::InvalidArgumentError(absl::StrCat(
        "documents[", index, "] has ", t.size(),
        " items; a document is (id, text[, metadata[, path]]) or a dict with those keys")));
  }
  doc.id = StringField(t[0], index, "id");
  doc.text = StringField(t[1], index, "text");
  if (t.size() > 2) doc.metadata = PythonToJson(t[2]);
  if (t.size() > 3 && !t[3].is_none()) doc.path = StringField(t[3], index, "path");
  return doc;
}

}  // namespace

void BindRag(py::module_& m) {
  py::class_<RagPassage>(m, "RagPassage", "A retrieved chunk: where it comes from and its text.")
      .def_readonly("n", &RagPassage::n, "1-based number in the prompt ([n]).")
      .def_readonly("chunk_id", &RagPassage::chunk_id)
      .def_readonly("doc_id", &RagPassage::doc_id)
      .def_readonly("path", &RagPassage::path)
      .def_property_readonly(
          "start",
          [](const RagPassage& p) -> py::object {
            return p.char_start < 0 ? py::object(py::none()) : py::int_(p.char_start);
          },
          "str index of the chunk in its document: document[start:end] == text (None for "
          "indexes written before llmkit recorded it).")
      .def_property_readonly("end",
                             [](const RagPassage& p) -> py::object {
                               return p.char_end < 0 ? py::object(py::none())
                                                     : py::int_(p.char_end);
                             })
      .def_readonly("byte_start", &RagPassage::begin, "UTF-8 byte offset in the document.")
      .def_readonly("byte_end", &RagPassage::end)
      .def_readonly("line_start", &RagPassage::line_start)
      .def_readonly("line_end", &RagPassage::line_end)
      .def_readonly("score", &RagPassage::score)
      .def_readonly("text", &RagPassage::text)
      .def_property_readonly("metadata",
                             [](const RagPassage& p) { return JsonToPython(p.metadata); })
      .def("__repr__", [](const RagPassage& p) {
        return "RagPassage(n=" + std::to_string(p.n) +
               ", path=" + py::repr(py::str(p.path)).cast<std::string>() +
               ", lines=" + std::to_string(p.line_start) + "-" + std::to_string(p.line_end) +
               ", score=" + std::to_string(p.score) + ")";
      });

  py::class_<RagAnswer>(m, "RagAnswer", "RagPipeline.answer's result.")
      .def_readonly("generated", &RagAnswer::generated, "False when no chat model is configured.")
      .def_readonly("text", &RagAnswer::text)
      .def_readonly("citations", &RagAnswer::citations, "Passages the answer cites by [n].")
      .def_readonly("context", &RagAnswer::context, "Every retrieved passage, in prompt order.")
      .def_readonly("prompt", &RagAnswer::prompt)
      .def_readonly("usage", &RagAnswer::usage)
      .def_readonly("model", &RagAnswer::model)
      .def("__repr__", [](const RagAnswer& a) {
        return "RagAnswer(generated=" + std::string(a.generated ? "True" : "False") +
               ", citations=" + std::to_string(a.citations.size()) +
               ", context=" + std::to_string(a.context.size()) + ")";
      });

  py::class_<IngestProgress>(m, "IngestProgress", "Progress and result of an ingest.")
      .def_readonly("documents_total", &IngestProgress::documents_total)
      .def_readonly("documents_done", &IngestProgress::documents_done)
      .def_readonly("documents_unchanged", &IngestProgress::documents_unchanged)
      .def_readonly("documents_failed", &IngestProgress::documents_failed)
      .def_readonly("documents_removed", &IngestProgress::documents_removed)
      .def_readonly("chunks", &IngestProgress::chunks)
      .def_readonly("chunks_embedded", &IngestProgress::chunks_embedded)
      .def_readonly("chunks_reused", &IngestProgress::chunks_reused)
      .def_readonly("chunks_removed", &IngestProgress::chunks_removed)
      .def_readonly("bytes", &IngestProgress::bytes)
      .def_readonly("seconds", &IngestProgress::seconds)
      .def_readonly("errors", &IngestProgress::errors)
      .def("__repr__", [](const IngestProgress& p) {
        return "IngestProgress(documents=" + std::to_string(p.documents_done) + "/" +
               std::to_string(p.documents_total) +
               ", unchanged=" + std::to_string(p.documents_unchanged) +
               ", chunks=" + std::to_string(p.chunks) +
               ", embedded=" + std::to_string(p.chunks_embedded) + ")";
      });

  // The writer lock of an index directory, as a context manager (released on exit, or when
  // collected).
  struct PyWriteLock {
    std::optional<RagPipeline::WriteLock> lock;
  };
  py::class_<PyWriteLock>(m, "WriteLock",
                          "The writer lock of a saved pipeline's directory (lock_for_writing); "
                          "a context manager, released on exit.")
      .def("__enter__", [](PyWriteLock& self) -> PyWriteLock& { return self; })
      .def("__exit__", [](PyWriteLock& self, const py::args&) { self.lock.reset(); })
      .def("release", [](PyWriteLock& self) { self.lock.reset(); })
      .def_property_readonly("held", [](const PyWriteLock& self) { return self.lock.has_value(); });

  py::class_<RagPipeline>(
      m, "RagPipeline",
      "Documents in, cited answers out: chunking, embeddings (the local lexical embedder by "
      "default), hybrid retrieval and an optional chat model. See docs/rag.md.")
      .def(py::init(
               [](py::object embedder, py::object chat, size_t chunk_size, size_t chunk_overlap,
                  int k, std::optional<std::string> embedding_model,
                  std::optional<std::string> chat_model, const std::string& mode, double alpha,
                  const std::string& index, bool float16, std::optional<std::string> system_prompt,
                  std::optional<std::string> prompt_template, std::optional<int64_t> max_tokens,
                  std::optional<double> temperature, int local_dimensions, size_t embed_batch_size,
                  int embed_concurrency, VectorStore* store, std::optional<double> timeout,
                  std::shared_ptr<Tracer> tracer) {
                 RagOptions options;
                 options.tracer = std::move(tracer);
                 // The Python store object outlives the pipeline (keep_alive below).
                 if (store != nullptr)
                   options.store = std::shared_ptr<VectorStore>(store, [](auto*) {});
                 options.embedder = EmbedderOf(embedder);
                 options.chat = ChatOf(chat);
                 options.chunk_size = chunk_size;
                 options.chunk_overlap = chunk_overlap;
                 options.k = k;
                 options.embedding_model = embedding_model.value_or("");
                 options.chat_model = chat_model.value_or("");
                 options.retrieval.mode = ParseMode(mode);
                 options.retrieval.alpha = alpha;
                 options.index = ParseKind(index);
                 options.float16 = float16;
                 if (system_prompt) options.system_prompt = *system_prompt;
                 if (prompt_template) options.prompt_template = *prompt_template;
                 options.max_tokens = max_tokens;
                 options.temperature = temperature;
                 options.local_embedder.dimensions = local_dimensions;
                 options.embed_batch_size = embed_batch_size;
                 options.embed_concurrency = embed_concurrency;
                 CallContext call = ToCallContext(timeout, std::nullopt, py::none());
                 absl::StatusOr<std::unique_ptr<RagPipeline>> rag;
                 {
                   py::gil_scoped_release release;
                   rag = RagPipeline::Create(std::move(options), call);
                 }
                 return ValueOrThrow(std::move(rag));
               }),
           py::arg("embedder") = py::none(), py::arg("chat") = py::none(), py::kw_only(),
           py::arg("chunk_size") = 512, py::arg("chunk_overlap") = 64, py::arg("k") = 5,
           py::arg("embedding_model") = py::none(), py::arg("chat_model") = py::none(),
           py::arg("mode") = "hybrid", py::arg("alpha") = 0.3, py::arg("index") = "flat",
           py::arg("float16") = true, py::arg("system_prompt") = py::none(),
           py::arg("prompt_template") = py::none(), py::arg("max_tokens") = 1024,
           py::arg("temperature") = 0.0, py::arg("local_dimensions") = 1024,
           py::arg("embed_batch_size") = 64, py::arg("embed_concurrency") = 4,
           py::arg("store") = py::none(), py::arg("timeout") = py::none(),
           py::arg("tracer") = py::none(), py::keep_alive<1, 20>())
      .def_static(
          "load",
          [](const std::string& dir, py::object embedder, py::object chat,
             std::optional<std::string> embedding_model, std::optional<std::string> chat_model,
             VectorStore* store, std::optional<double> timeout, std::shared_ptr<Tracer> tracer) {
            RagModels models;
            models.tracer = std::move(tracer);
            if (store != nullptr) models.store = std::shared_ptr<VectorStore>(store, [](auto*) {});
            CallContext call = ToCallContext(timeout, std::nullopt, py::none());
            models.embedder = EmbedderOf(embedder);
            models.chat = ChatOf(chat);
            models.embedding_model = embedding_model.value_or("");
            models.chat_model = chat_model.value_or("");
            py::gil_scoped_release release;
            return ValueOrThrow(RagPipeline::Load(dir, std::move(models), call));
          },
          py::arg("dir"), py::kw_only(), py::arg("embedder") = py::none(),
          py::arg("chat") = py::none(), py::arg("embedding_model") = py::none(),
          py::arg("chat_model") = py::none(), py::arg("store") = py::none(),
          py::arg("timeout") = py::none(), py::arg("tracer") = py::none(), py::keep_alive<0, 6>(),
          "Reads a pipeline written by save() (store=: the remote store it was built in).")
      .def(
          "ingest",
          [](RagPipeline& rag, py::iterable documents, py::object progress, size_t group_chunks,
             std::optional<double> timeout, py::object tags) {
            std::vector<RagDocument> docs;
            for (py::handle item : documents) docs.push_back(DocumentOf(item, docs.size()));
            return RunIngest(progress, group_chunks, ToCallContext(timeout, std::nullopt, tags),
                             [&](const IngestOptions& o, const CallContext& call) {
                               return rag.Ingest(docs, o, call);
                             });
          },
          py::arg("documents"), py::kw_only(), py::arg("progress") = py::none(),
          py::arg("group_chunks") = 1024, py::arg("timeout") = py::none(),
          py::arg("tags") = py::none(),
          "Indexes (id, text[, metadata[, path]]) tuples or dicts; unchanged documents are "
          "skipped. progress(stats) is called after each committed group of about group_chunks "
          "chunks and may return False to stop (what was committed stays).")
      .def("ingest_directory", &IngestDirectory, LLMKIT_INGEST_DIRECTORY_ARGS,
           "Indexes the text, Markdown, reStructuredText and source files under dir.")
      .def(
          "ingest_dir",
          [](RagPipeline& rag, const std::string& dir,
             std::optional<std::vector<std::string>> extensions, bool remove_missing,
             size_t max_file_bytes, py::object progress, size_t group_chunks,
             std::optional<double> timeout, py::object tags) {
            PyErr_WarnEx(PyExc_DeprecationWarning,
                         "RagPipeline.ingest_dir is deprecated: use ingest_directory", 1);
            return IngestDirectory(rag, dir, std::move(extensions), remove_missing, max_file_bytes,
                                   std::move(progress), group_chunks, timeout, std::move(tags));
          },
          LLMKIT_INGEST_DIRECTORY_ARGS, "Deprecated spelling of ingest_directory.")
      .def(
          "remove",
          [](RagPipeline& rag, const std::vector<std::string>& ids, std::optional<double> timeout,
             py::object tags) {
            CallContext call = ToCallContext(timeout, std::nullopt, tags);
            absl::StatusOr<size_t> removed;
            {
              py::gil_scoped_release release;
              removed = rag.Remove(ids, call);
            }
            return ValueOrThrow(std::move(removed));
          },
          py::arg("doc_ids"), py::kw_only(), py::arg("timeout") = py::none(),
          py::arg("tags") = py::none(), "Removes documents; returns how many existed.")
      .def(
          "retrieve",
          [](const RagPipeline& rag, const std::string& question, int k, py::object where,
             std::optional<double> timeout, py::object tags) {
            Json filter = where.is_none() ? Json() : PythonToJson(where);
            CallContext call = ToCallContext(timeout, std::nullopt, tags);
            return ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
              call.cancellation = std::move(cancellation);
              return rag.Retrieve(question, k, filter, call);
            }));
          },
          py::arg("question"), py::kw_only(), py::arg("k") = 0, py::arg("where") = py::none(),
          py::arg("timeout") = py::none(), py::arg("tags") = py::none())
      .def(
          "answer",
          [](const RagPipeline& rag, const std::string& question, int k, py::object where,
             py::object on_text, std::optional<double> timeout, std::optional<double> idle_timeout,
             py::object tags) {
            CallContext call = ToCallContext(timeout, idle_timeout, tags);
            AnswerOptions options;
            options.k = k;
            if (!where.is_none()) options.where = PythonToJson(where);
            if (!on_text.is_none()) {
              options.on_text = [on_text](std::string_view text) {
                py::gil_scoped_acquire acquire;
                on_text(py::str(text.data(), text.size()));
              };
            }
            // The worker only sets a field of `call` (no Python object is copied off the GIL).
            return ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
              call.cancellation = std::move(cancellation);
              return rag.Answer(question, options, call);
            }));
          },
          py::arg("question"), py::kw_only(), py::arg("k") = 0, py::arg("where") = py::none(),
          py::arg("on_text") = py::none(), py::arg("timeout") = py::none(),
          py::arg("idle_timeout") = py::none(), py::arg("tags") = py::none(),
          "Retrieves, renders the prompt and asks the chat model (streaming pieces to "
          "on_text). Without a chat model: generated=False, the passages and the prompt.")
      .def(
          "save",
          [](const RagPipeline& rag, const std::string& dir, std::optional<double> timeout,
             const py::object& tags) {
            CallContext call = ToCallContext(timeout, std::nullopt, tags);
            py::gil_scoped_release release;
            ThrowIfError(rag.Save(dir, call));
          },
          py::arg("dir"), py::kw_only(), py::arg("timeout") = py::none(),
          py::arg("tags") = py::none(),
          "Writes the pipeline under dir, holding its writer lock (waiting for another writer "
          "up to timeout seconds, 30 without one).")
      .def_static(
          "lock_for_writing",
          [](const std::string& dir, std::optional<double> timeout) {
            CallContext call = ToCallContext(timeout, std::nullopt, py::none());
            absl::StatusOr<RagPipeline::WriteLock> lock;
            {
              py::gil_scoped_release release;
              lock = RagPipeline::LockForWriting(dir, call);
            }
            return PyWriteLock{ValueOrThrow(std::move(lock))};
          },
          py::arg("dir"), py::kw_only(), py::arg("timeout") = py::none(),
          "Takes the writer lock of dir for a load-change-save update (waits up to timeout "
          "seconds, 30 without one, then FailedPreconditionError naming the holder's pid).")
      .def("stats",
           [](const RagPipeline& rag) {
             RagStats s = rag.Stats();
             EmbeddingCacheStats c = rag.CacheStats();
             py::dict out;
             out["documents"] = s.documents;
             out["chunks"] = s.chunks;
             out["embedding_model"] = s.embedding_model;
             out["dimensions"] = s.dimensions;
             out["latent_documents"] = s.latent_documents;
             out["cache_hits"] = c.hits;
             out["cache_misses"] = c.misses;
             return out;
           })
      .def("__len__", [](const RagPipeline& rag) { return rag.Stats().documents; });

  m.def("cited_numbers", &CitedNumbers, py::arg("answer"), py::arg("passages"),
        "The [n] numbers an answer cites, in order of first appearance.");
}

}  // namespace llmkit::python
