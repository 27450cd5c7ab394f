# Writes OUT, a C++ source defining `std::string_view <FUNCTION>()` that returns the bytes of IN.
# Run as: cmake -DIN=... -DOUT=... -DFUNCTION=ns::Name -P embed_text.cmake
file(READ "${IN}" content)
string(FIND "${content}" ")llmkit\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string delimiter )llmkit\"")
endif()
string(REGEX REPLACE "::[^:]*$" "" namespace "${FUNCTION}")
string(REGEX REPLACE "^.*::" "" name "${FUNCTION}")
file(WRITE "${OUT}.tmp" "// Generated from ${IN} by cmake/embed_text.cmake. Do not edit.\n#include <string_view>\nnamespace ${namespace} {\nstd::string_view ${name}() {\n  static constexpr std::string_view kText = R\"llmkit(${content})llmkit\";\n  return kText;\n}\n}  // namespace ${namespace}\n")
file(RENAME "${OUT}.tmp" "${OUT}")
