// libpq connections for the pgvector store: non-blocking connect and query with the call's
// deadline and cancellation, errors mapped to llmkit codes (never with the password), and a
// small pool.

#ifndef LLMKIT_PGVECTOR_CONNECTION_H_
#define LLMKIT_PGVECTOR_CONNECTION_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "llmkit/call.h"

struct pg_conn;
struct pg_result;

namespace llmkit::pg {

// One query's result rows (text format).
class Result {
 public:
  explicit Result(pg_result* result);
  ~Result();
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;

  int rows() const;
  bool null(int row, int column) const;
  std::string_view value(int row, int column) const;
  // Rows a command touched (INSERT, DELETE, UPDATE).
  size_t affected() const;

 private:
  pg_result* result_;
};

// Where the server is, for errors: "host:port/database" and the password to scrub.
struct ServerName {
  std::string label;
  std::string password;
};

// One libpq connection. Not thread-safe: one call at a time (the pool hands it out).
class Connection {
 public:
  // Errors: kUnavailable (unreachable, refused, closed), kUnauthenticated, kDeadlineExceeded
  // (connect_timeout or the call's deadline), kCancelled, kInvalidArgument (a malformed DSN).
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& dsn,
                                                          std::chrono::milliseconds timeout,
                                                          const CallContext& call);
  ~Connection();

  // Runs one statement with text parameters ($1...; nullopt is SQL NULL; one holding a NUL byte
  // is kInvalidArgument). `sql` without parameters may hold several statements. A deadline or
  // cancellation closes the connection (broken() turns true). Errors: mapped from SQLSTATE (see
  // Classify).
  absl::StatusOr<Result> Exec(std::string_view sql,
                              const std::vector<std::optional<std::string>>& params,
                              const CallContext& call);
  absl::StatusOr<Result> Exec(std::string_view sql, const CallContext& call) {
    return Exec(sql, {}, call);
  }

  // `value` as an SQL string literal, quoted by libpq for this connection's encoding and
  // standard_conforming_strings (PQescapeLiteral); nullopt when it cannot be one (a NUL byte,
  // or bytes invalid in the encoding): then send it as a parameter.
  std::optional<std::string> Literal(std::string_view value) const;

  // The connection cannot be used again (lost, or stopped mid-statement).
  bool broken() const;
  // Idle outside a transaction: may go back to the pool.
  bool idle() const;
  const ServerName& server() const { return server_; }

  // Per-connection session state the store keeps in step (hnsw.ef_search).
  int ef_search = 0;

 private:
  explicit Connection(pg_conn* conn);
  absl::Status Wait(bool write, const CallContext& call, std::string_view what);
  absl::Status Error(std::string_view what, std::string message) const;

  pg_conn* conn_;
  ServerName server_;
  bool broken_ = false;
};

// A transient failure worth another attempt on a fresh connection (connection lost, serialization
// failure, deadlock, server shutting down).
bool IsTransient(const absl::Status& status);

// Up to `size` connections, opened on demand; Acquire waits for a free one until the deadline.
class Pool {
 public:
  Pool(std::string dsn, int size, std::chrono::milliseconds connect_timeout);
  ~Pool();

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    ~Lease();
    Connection* operator->() const { return connection_.get(); }
    Connection& operator*() const { return *connection_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  absl::StatusOr<Lease> Acquire(const CallContext& call);

 private:
  void Release(std::unique_ptr<Connection> connection);

  const std::string dsn_;
  const int size_;
  const std::chrono::milliseconds connect_timeout_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
};

// A quoted SQL identifier ("name", with " doubled). Errors: kInvalidArgument (empty, NUL).
absl::StatusOr<std::string> QuoteIdentifier(std::string_view name, std::string_view what);

}  // namespace llmkit::pg

#endif  // LLMKIT_PGVECTOR_CONNECTION_H_
