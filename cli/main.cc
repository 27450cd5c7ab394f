// llmkit: index documents, search them, ask questions about them, and look at how text is
// chunked and tokenized. `llmkit --help` lists the commands; `llmkit COMMAND --help` each one.

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "args.h"
#include "commands.h"
#include "models.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"index", llmkit::cli::RunIndex, "index a directory of documents (resumable)"},
    {"query", llmkit::cli::RunQuery, "show the passages that best match a question"},
    {"ask", llmkit::cli::RunAsk, "answer a question from an index, with citations"},
    {"chunk", llmkit::cli::RunChunk, "show how a file is cut into chunks"},
    {"tokens", llmkit::cli::RunTokens, "count a file's tokens (tiktoken encodings)"},
    {"eval", llmkit::cli::RunEval,
     "prompt suites (pass rates, regression gate) and retrieval quality (nDCG@10)"},
    {"spend", llmkit::cli::RunSpend, "what the calls in a ledger file cost, by tags and model"},
    {"review", llmkit::cli::RunReview, "agent tool calls awaiting approval: list, show, decide"},
};

void PrintUsage(FILE* out) {
  std::fprintf(out, "usage: llmkit COMMAND [options]\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
  std::fprintf(out,
               "\n`llmkit COMMAND --help` describes a command. Exit status: 0 success, 1 the work "
               "failed, 2 bad command line.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return llmkit::cli::kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    PrintUsage(stdout);
    return llmkit::cli::kExitOk;
  }
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    // The commands report errors themselves; this is the last net, so that nothing a library
    // below throws (a filesystem error, an allocation failure) aborts with a core dump.
    try {
      const int status = c.run(argc, argv);
      llmkit::cli::ShutdownCommandTracer();
      return status;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "llmkit %s: %s\n", name.c_str(), e.what());
      return llmkit::cli::kExitFailure;
    }
  }
  std::fprintf(stderr, "llmkit: unknown command \"%s\"\n", name.c_str());
  PrintUsage(stderr);
  return llmkit::cli::kExitUsage;
}
