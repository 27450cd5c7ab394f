// A real PostgreSQL wire-protocol server with pgvector for the tests: npm
// @electric-sql/pglite-socket's pglite-server (installed by scripts/install-test-peers.sh),
// started on 127.0.0.1 on a free port and stopped with the object.

#ifndef LLMKIT_TESTS_PGVECTOR_PGLITE_SERVER_H_
#define LLMKIT_TESTS_PGVECTOR_PGLITE_SERVER_H_

#include <string>

namespace llmkit::testing {

class PgliteServer {
 public:
  // Starts the server; ok() is false (and why() says why) when node or the package is missing
  // or it did not start listening within 30 s.
  PgliteServer();
  ~PgliteServer();
  PgliteServer(const PgliteServer&) = delete;
  PgliteServer& operator=(const PgliteServer&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& why() const { return why_; }
  int port() const { return port_; }
  // "postgresql://postgres:<password>@127.0.0.1:<port>/postgres" (pglite accepts any password).
  std::string Dsn(const std::string& password = "test-secret") const;

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string why_;
};

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_PGVECTOR_PGLITE_SERVER_H_
