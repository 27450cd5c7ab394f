// The argument parser (args.h).

#include "args.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace llmkit::cli {
namespace {

void Usage(const CommandSpec& spec) {
  std::fprintf(stderr, "usage: llmkit %s %s\n(llmkit %s --help for the options)\n",
               spec.name.c_str(), spec.synopsis.c_str(), spec.name.c_str());
}

}  // namespace

void PrintHelp(const CommandSpec& spec) {
  std::printf("usage: llmkit %s %s\n\n%s\n", spec.name.c_str(), spec.synopsis.c_str(),
              spec.description.c_str());
  if (!spec.options.empty()) std::printf("\noptions:\n");
  for (const OptionSpec& o : spec.options) {
    std::string left = o.alias.empty() ? o.name : o.alias + ", " + o.name;
    if (!o.value_name.empty()) left += " " + o.value_name;
    std::printf("  %-28s %s\n", left.c_str(), o.help.c_str());
  }
  std::printf("  %-28s %s\n", "-h, --help", "show this help");
}

std::optional<Args> Args::Parse(const CommandSpec& spec, int argc, char** argv, int first,
                                int* exit) {
  Args args;
  args.command_ = spec.name;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      PrintHelp(spec);
      *exit = kExitOk;
      return std::nullopt;
    }
    if (arg.size() > 1 && arg[0] == '-' && arg != "--") {
      std::string name = arg, value;
      bool inline_value = false;
      if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inline_value = true;
      }
      const OptionSpec* option = nullptr;
      for (const OptionSpec& o : spec.options) {
        if (o.name == name || (!o.alias.empty() && o.alias == name)) option = &o;
      }
      if (option == nullptr) {
        std::fprintf(stderr, "llmkit %s: unknown option %s\n", spec.name.c_str(), name.c_str());
        Usage(spec);
        *exit = kExitUsage;
        return std::nullopt;
      }
      if (option->value_name.empty()) {
        if (inline_value) {
          std::fprintf(stderr, "llmkit %s: %s takes no value\n", spec.name.c_str(),
                       option->name.c_str());
          *exit = kExitUsage;
          return std::nullopt;
        }
        args.values_[option->name] = "1";
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "llmkit %s: %s needs a value (%s)\n", spec.name.c_str(),
                       option->name.c_str(), option->value_name.c_str());
          Usage(spec);
          *exit = kExitUsage;
          return std::nullopt;
        }
        value = argv[++i];
      }
      args.values_[option->name] = value;
      continue;
    }
    if (arg == "--") {
      for (++i; i < argc; ++i) args.positionals_.push_back(argv[i]);
      break;
    }
    args.positionals_.push_back(arg);
  }
  if (args.positionals_.size() != spec.positionals.size()) {
    if (args.positionals_.size() < spec.positionals.size()) {
      std::fprintf(stderr, "llmkit %s: missing %s\n", spec.name.c_str(),
                   spec.positionals[args.positionals_.size()].c_str());
    } else {
      std::fprintf(stderr, "llmkit %s: unexpected argument \"%s\"\n", spec.name.c_str(),
                   args.positionals_[spec.positionals.size()].c_str());
    }
    Usage(spec);
    *exit = kExitUsage;
    return std::nullopt;
  }
  return args;
}

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::optional<long> Args::Number(const std::string& name, long fallback, long min, long max) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || errno != 0 || value < min || value > max) {
    std::fprintf(stderr, "llmkit %s: %s must be a whole number from %ld to %ld, got \"%s\"\n",
                 command_.c_str(), name.c_str(), min, max, it->second.c_str());
    return std::nullopt;
  }
  return value;
}

}  // namespace llmkit::cli
