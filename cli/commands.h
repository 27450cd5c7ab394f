// The llmkit subcommands. Each takes the whole argv (argv[1] is its name) and returns the exit
// status (args.h).

#ifndef LLMKIT_CLI_COMMANDS_H_
#define LLMKIT_CLI_COMMANDS_H_

namespace llmkit::cli {

int RunIndex(int argc, char** argv);   // index_command.cc
int RunQuery(int argc, char** argv);   // query_command.cc
int RunAsk(int argc, char** argv);     // query_command.cc
int RunChunk(int argc, char** argv);   // text_commands.cc
int RunTokens(int argc, char** argv);  // text_commands.cc
int RunEval(int argc, char** argv);    // eval_command.cc: eval prompts | eval retrieval
// `llmkit eval prompts|retrieval ...` with the options from argv[first] on.
int RunEvalPrompts(int argc, char** argv, int first);    // eval_prompts_command.cc
int RunEvalRetrieval(int argc, char** argv, int first);  // eval_command.cc
int RunSpend(int argc, char** argv);                     // spend_command.cc
int RunReview(int argc, char** argv);                    // review_command.cc

}  // namespace llmkit::cli

#endif  // LLMKIT_CLI_COMMANDS_H_
