// libpq connections: non-blocking connect and queries under the call's deadline and
// cancellation, SQLSTATE to llmkit codes, the pool.

#include "pgvector/connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"

namespace llmkit::pg {
namespace {

using std::chrono::milliseconds;
using Clock = CallContext::Clock;

// How often a wait looks at the call's cancellation.
constexpr milliseconds kCancelPoll{50};

std::string Scrub(std::string message, const std::string& password) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (!password.empty()) {
    message = absl::StrReplaceAll(message, {{internal::ToAbsl(password), "***"}});
  }
  return message;
}

absl::StatusCode CodeOf(std::string_view state) {
  auto is = [&](std::string_view s) { return state == s; };
  auto klass = [&](std::string_view c) { return state.substr(0, 2) == c; };
  if (is("23505")) return absl::StatusCode::kAlreadyExists;
  if (is("42501")) return absl::StatusCode::kPermissionDenied;
  if (is("42P01")) return absl::StatusCode::kNotFound;
  if (is("42P10") || is("42703") || is("42704")) return absl::StatusCode::kFailedPrecondition;
  if (is("40001") || is("40P01")) return absl::StatusCode::kAborted;
  if (is("57014")) return absl::StatusCode::kDeadlineExceeded;
  if (is("57P01") || is("57P02") || is("57P03")) return absl::StatusCode::kUnavailable;
  if (klass("22") || klass("42") || klass("23")) return absl::StatusCode::kInvalidArgument;
  if (klass("28")) return absl::StatusCode::kUnauthenticated;
  if (klass("08")) return absl::StatusCode::kUnavailable;
  if (klass("53")) return absl::StatusCode::kResourceExhausted;
  if (klass("0A")) return absl::StatusCode::kUnimplemented;
  return absl::StatusCode::kInternal;
}

// "host:port/database" from the options libpq resolved (DSN, PG* variables, defaults).
ServerName NameOf(PQconninfoOption* options) {
  ServerName name;
  std::string host, hostaddr, port, dbname, user;
  for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    std::string_view key = o->keyword;
    std::string value = o->val != nullptr ? o->val : "";
    if (key == "host") host = value;
    if (key == "hostaddr") hostaddr = value;
    if (key == "port") port = value;
    if (key == "dbname") dbname = value;
    if (key == "user") user = value;
    if (key == "password") name.password = value;
  }
  if (host.empty()) host = hostaddr.empty() ? "localhost" : hostaddr;
  if (dbname.empty()) dbname = user;
  name.label = absl::StrCat(host, ":", port.empty() ? "5432" : port, "/", dbname);
  return name;
}

}  // namespace

Result::Result(pg_result* result) : result_(result) {}
Result::~Result() {
  if (result_ != nullptr) PQclear(result_);
}
Result::Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
int Result::rows() const { return result_ == nullptr ? 0 : PQntuples(result_); }
bool Result::null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
std::string_view Result::value(int row, int column) const {
  return std::string_view(PQgetvalue(result_, row, column),
                          static_cast<size_t>(PQgetlength(result_, row, column)));
}
size_t Result::affected() const {
  const char* n = result_ == nullptr ? "" : PQcmdTuples(result_);
  return n[0] == '\0' ? 0 : std::strtoull(n, nullptr, 10);
}

Connection::Connection(pg_conn* conn) : conn_(conn) {}
Connection::~Connection() { PQfinish(conn_); }

bool Connection::broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
bool Connection::idle() const { return !broken() && PQtransactionStatus(conn_) == PQTRANS_IDLE; }

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& dsn,
                                                             milliseconds timeout,
                                                             const CallContext& call) {
  LLMKIT_RETURN_IF_ERROR(call.Check("PostgreSQL connect"));
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &parse_error);
  if (parsed == nullptr) {
    // libpq's message may quote a piece of the DSN (which may hold the password): keep only
    // the text before the first quote.
    std::string message = parse_error != nullptr ? parse_error : "out of memory";
    PQfreemem(parse_error);
    message = message.substr(0, message.find('"'));
    return absl::InvalidArgumentError(
        absl::StrCat("PostgreSQL connection string is malformed: ", Scrub(message, "")));
  }
  PQconninfoFree(parsed);
  pg_conn* raw = PQconnectStart(dsn.c_str());
  if (raw == nullptr) return absl::ResourceExhaustedError("libpq could not allocate a connection");
  std::unique_ptr<Connection> connection(new Connection(raw));
  PQconninfoOption* resolved = PQconninfo(raw);
  connection->server_ = NameOf(resolved);
  PQconninfoFree(resolved);
  CallContext bounded = call.WithDeadlineAtMost(CallContext::DeadlineAfter(timeout));
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (true) {
    if (PQstatus(raw) == CONNECTION_BAD || state == PGRES_POLLING_FAILED) {
      std::string message = Scrub(PQerrorMessage(raw), connection->server_.password);
      absl::StatusCode code = absl::StrContains(message, "password") ||
                                      absl::StrContains(message, "authentication") ||
                                      absl::StrContains(message, "certificate")
                                  ? absl::StatusCode::kUnauthenticated
                                  : absl::StatusCode::kUnavailable;
      return absl::Status(code, absl::StrCat("PostgreSQL at ", connection->server_.label,
                                             ": cannot connect: ", message));
    }
    if (state == PGRES_POLLING_OK) break;
    absl::Status waited = connection->Wait(state == PGRES_POLLING_WRITING, bounded, "connect");
    if (!waited.ok()) {
      if (waited.code() == absl::StatusCode::kDeadlineExceeded && !call.Check("").ok()) {
        return call.Check("PostgreSQL connect");
      }
      return waited;
    }
    state = PQconnectPoll(raw);
  }
  // Server notices ("extension already exists, skipping") are not errors; libpq would print
  // them to stderr.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  if (PQsetnonblocking(raw, 1) != 0) {
    return absl::InternalError("libpq: cannot switch the connection to non-blocking mode");
  }
  PQconninfoOption* final_options = PQconninfo(raw);
  connection->server_ = NameOf(final_options);
  PQconninfoFree(final_options);
  return connection;
}

absl::Status Connection::Wait(bool write, const CallContext& call, std::string_view what) {
  while (true) {
    if (call.cancelled()) {
      broken_ = true;
      return absl::CancelledError(
          absl::StrCat("PostgreSQL ", internal::ToAbsl(what), " cancelled"));
    }
    std::chrono::nanoseconds left = call.Remaining();
    if (left.count() == 0) {
      broken_ = true;
      return absl::DeadlineExceededError(absl::StrCat(
          "PostgreSQL at ", server_.label, ": ", internal::ToAbsl(what), " passed the deadline"));
    }
    int socket = PQsocket(conn_);
    if (socket < 0) {
      broken_ = true;
      return absl::UnavailableError(
          absl::StrCat("PostgreSQL at ", server_.label, ": the connection has no socket"));
    }
    pollfd fd{socket, static_cast<short>(write ? POLLOUT | POLLIN : POLLIN), 0};
    auto slice = std::min<std::chrono::nanoseconds>(left, kCancelPoll);
    int ready = poll(&fd, 1,
                     static_cast<int>(std::max<int64_t>(
                         1, std::chrono::duration_cast<milliseconds>(slice).count())));
    if (ready > 0) return absl::OkStatus();
    if (ready < 0 && errno != EINTR) {
      broken_ = true;
      return absl::UnavailableError(absl::StrCat("PostgreSQL at ", server_.label, ": poll failed"));
    }
  }
}

absl::Status Connection::Error(std::string_view what, std::string message) const {
  return absl::UnavailableError(absl::StrCat("PostgreSQL at ", server_.label, ": ",
                                             internal::ToAbsl(what), ": ",
                                             Scrub(std::move(message), server_.password)));
}

std::optional<std::string> Connection::Literal(std::string_view value) const {
  if (value.find('\0') != std::string_view::npos) return std::nullopt;
  char* escaped = PQescapeLiteral(conn_, value.data(), value.size());
  if (escaped == nullptr) return std::nullopt;
  std::string literal(escaped);
  PQfreemem(escaped);
  return literal;
}

absl::StatusOr<Result> Connection::Exec(std::string_view sql,
                                        const std::vector<std::optional<std::string>>& params,
                                        const CallContext& call) {
  LLMKIT_RETURN_IF_ERROR(call.Check("PostgreSQL query"));
  if (broken()) {
    broken_ = true;
    return Error("query", "the connection is closed");
  }
  for (const auto& p : params) {
    // libpq reads each parameter as a C string: one holding a NUL would be cut there (a filter
    // value "a\0b" would match "a").
    if (p.has_value() && p->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("a value holds a NUL byte, which PostgreSQL text cannot");
    }
  }
  std::string text(sql);
  int sent;
  if (params.empty()) {
    sent = PQsendQuery(conn_, text.c_str());
  } else {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.has_value() ? p->c_str() : nullptr);
    sent = PQsendQueryParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  }
  if (sent == 0) {
    broken_ = true;
    return Error("send", PQerrorMessage(conn_));
  }
  // Send everything (reading what arrives meanwhile), then read until the results are in.
  while (true) {
    int flushed = PQflush(conn_);
    if (flushed == 0) break;
    if (flushed < 0) {
      broken_ = true;
      return Error("send", PQerrorMessage(conn_));
    }
    LLMKIT_RETURN_IF_ERROR(Wait(/*write=*/true, call, "query"));
    if (PQconsumeInput(conn_) == 0) {
      broken_ = true;
      return Error("receive", PQerrorMessage(conn_));
    }
  }
  std::optional<Result> last;
  absl::Status failure;
  while (true) {
    while (PQisBusy(conn_) != 0) {
      LLMKIT_RETURN_IF_ERROR(Wait(/*write=*/false, call, "query"));
      if (PQconsumeInput(conn_) == 0) {
        broken_ = true;
        return Error("receive", PQerrorMessage(conn_));
      }
    }
    pg_result* raw = PQgetResult(conn_);
    if (raw == nullptr) break;
    Result result(raw);
    ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE ||
        status == PGRES_NONFATAL_ERROR) {
      if (failure.ok()) {
        const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
        const char* primary = PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY);
        std::string message = primary != nullptr ? primary : PQresultErrorMessage(raw);
        absl::StatusCode code = state != nullptr ? CodeOf(state) : absl::StatusCode::kUnavailable;
        failure = absl::Status(
            code, absl::StrCat("PostgreSQL at ", server_.label, ": ",
                               Scrub(std::move(message), server_.password),
                               state != nullptr ? absl::StrCat(" (SQLSTATE ", state, ")") : ""));
      }
      continue;
    }
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
      broken_ = true;
      return Error("query", "unexpected COPY response");
    }
    last = std::move(result);
  }
  if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
  if (!failure.ok()) return failure;
  if (!last.has_value()) return Error("query", "no result");
  return *std::move(last);
}

bool IsTransient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kAborted;
}

Pool::Pool(std::string dsn, int size, milliseconds connect_timeout)
    : dsn_(std::move(dsn)), size_(size), connect_timeout_(connect_timeout) {}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (connection_ != nullptr) pool_->Release(std::move(connection_));
}

absl::StatusOr<Pool::Lease> Pool::Acquire(const CallContext& call) {
  std::unique_lock lock(mu_);
  while (idle_.empty() && open_ >= size_) {
    LLMKIT_RETURN_IF_ERROR(call.Check("waiting for a PostgreSQL connection"));
    auto until = std::min(call.deadline, Clock::now() + kCancelPoll);
    freed_.wait_until(lock, until);
  }
  if (!idle_.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(connection));
  }
  ++open_;
  lock.unlock();
  absl::StatusOr<std::unique_ptr<Connection>> opened =
      Connection::Open(dsn_, connect_timeout_, call);
  if (!opened.ok()) {
    lock.lock();
    --open_;
    freed_.notify_one();
    return opened.status();
  }
  return Lease(this, *std::move(opened));
}

void Pool::Release(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mu_);
  if (connection->idle()) {
    idle_.push_back(std::move(connection));
  } else {
    connection.reset();  // Lost, or left inside a transaction: closed.
    --open_;
  }
  freed_.notify_one();
}

absl::StatusOr<std::string> QuoteIdentifier(std::string_view name, std::string_view what) {
  if (name.empty() || name.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("PgVectorStoreOptions::", internal::ToAbsl(what),
                                                   " must be non-empty without NUL bytes"));
  }
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace llmkit::pg
