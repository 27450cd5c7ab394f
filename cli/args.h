// The command line's argument parser: `--name value`, `--name=value`, boolean `--flag`, `-k 5`
// short aliases, positionals, and `--help`. Errors are usage errors (exit status 2).

#ifndef LLMKIT_CLI_ARGS_H_
#define LLMKIT_CLI_ARGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace llmkit::cli {

// Exit statuses of every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // The work failed: missing file, model error, ...
inline constexpr int kExitUsage = 2;    // Bad command line.

struct OptionSpec {
  std::string name;        // "--chunk-size"
  std::string alias;       // "-k", or empty
  std::string value_name;  // "N"; empty for a boolean flag
  std::string help;
};

struct CommandSpec {
  std::string name;                      // "index"
  std::string synopsis;                  // "DIR -o INDEX [options]"
  std::string description;               // One paragraph.
  std::vector<std::string> positionals;  // Required, in order ("DIR").
  std::vector<OptionSpec> options;
};

class Args {
 public:
  // Parses argv[first...]. On error prints it and the usage line to stderr and returns nullopt
  // with *exit = kExitUsage; on --help prints the help to stdout and returns nullopt with
  // *exit = kExitOk.
  static std::optional<Args> Parse(const CommandSpec& spec, int argc, char** argv, int first,
                                   int* exit);

  const std::string& positional(size_t i) const { return positionals_[i]; }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  // The option as a number in [min, max]; prints the error and returns nullopt when it is not.
  std::optional<long> Number(const std::string& name, long fallback, long min, long max) const;

 private:
  std::vector<std::string> positionals_;
  std::map<std::string, std::string> values_;
  std::string command_;
};

void PrintHelp(const CommandSpec& spec);

}  // namespace llmkit::cli

#endif  // LLMKIT_CLI_ARGS_H_
