// Real servers for the store tests, from the npm packages scripts/install-test-peers.sh
// installs: pglite-server (PostgreSQL wire protocol with pgvector 0.8) and Chroma 1.x. Each is
// started on 127.0.0.1 on a free port and stopped (and its data removed) with the object.

#ifndef LLMKIT_TESTS_STORES_PEER_SERVER_H_
#define LLMKIT_TESTS_STORES_PEER_SERVER_H_

#include <string>
#include <utility>
#include <vector>

namespace llmkit::testing {

class PeerServer {
 public:
  // @electric-sql/pglite-socket's pglite-server with the pgvector extension. It serves one
  // connection at a time.
  static PeerServer Pglite();
  // chromadb's `chroma run` with a fresh data directory.
  static PeerServer Chroma();
  // @modelcontextprotocol/server-everything over streamable HTTP (its endpoint is /mcp).
  static PeerServer McpEverythingHttp();
  // The path of `relative` under the peers' node_modules, or "" when it is not installed.
  static std::string Package(const std::string& relative);

  PeerServer(PeerServer&& other) noexcept;
  ~PeerServer();

  // False (and why() says why) when node or the package is missing or the server did not
  // listen within 30 s.
  bool ok() const { return pid_ > 0; }
  const std::string& why() const { return why_; }
  int port() const { return port_; }
  // "postgresql://postgres:<password>@127.0.0.1:<port>/postgres" (pglite takes any password).
  std::string PostgresUrl(const std::string& password = "test-secret") const;
  // "http://127.0.0.1:<port>".
  std::string HttpUrl() const;
  // Kills the server and starts it again on the same port (a server restart as clients see
  // it: their connections drop). False when it did not come back.
  bool Restart();

 private:
  PeerServer() = default;
  void Start(const std::string& program, std::vector<std::string> args);

  int pid_ = -1;
  int port_ = 0;
  std::string program_;
  std::vector<std::string> args_;
  std::vector<std::pair<std::string, std::string>> env_;  // Set in the child.
  std::string why_;
  std::string data_dir_;  // Removed when the server stops.
};

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_STORES_PEER_SERVER_H_
