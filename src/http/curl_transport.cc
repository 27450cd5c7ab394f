// The libcurl HttpTransport: one background thread drives every transfer with curl_multi
// (keep-alive pool, HTTP/2 multiplexing, shared TLS sessions and DNS cache); requests are handed
// over through a queue and curl_multi_wakeup.

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "http/body.h"
#include "llmkit/http.h"

namespace llmkit {

std::optional<std::string_view> FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

absl::StatusOr<HttpResponse> HttpTransport::Send(HttpRequest request, StreamHandler* handler) {
  std::promise<absl::StatusOr<HttpResponse>> promise;
  std::future<absl::StatusOr<HttpResponse>> result = promise.get_future();
  Start(std::move(request), handler, [&promise](absl::StatusOr<HttpResponse> response) {
    promise.set_value(std::move(response));
  });
  return result.get();
}

namespace {

using Clock = std::chrono::steady_clock;

// The URL without its query string or credentials, for error messages (keys can hide there).
std::string Redacted(std::string_view url) {
  std::string_view shown = url.substr(0, url.find_first_of("?#"));
  size_t scheme = shown.find("://");
  size_t at = shown.find('@', scheme == std::string_view::npos ? 0 : scheme + 3);
  size_t slash = shown.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (at != std::string_view::npos && (slash == std::string_view::npos || at < slash)) {
    return absl::StrCat(std::string(shown.substr(0, scheme + 3)), "…",
                        std::string(shown.substr(at)));
  }
  return std::string(shown);
}

struct Transfer {
  HttpRequest request;
  StreamHandler* handler = nullptr;
  std::function<void(absl::StatusOr<HttpResponse>)> done;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {};
  bool in_headers = true;
  bool stopped_by_handler = false;
  bool idle_expired = false;
  Clock::time_point last_activity;

  ~Transfer() {
    if (header_list != nullptr) curl_slist_free_all(header_list);
  }
};

size_t OnHeaderLine(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->last_activity = Clock::now();
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {  // A status line starts a new header block.
    t->response.headers.clear();
    size_t space = line.find(' ');
    t->response.status = space == std::string_view::npos ? 0 : std::atoi(line.data() + space + 1);
    t->in_headers = true;
    return n;
  }
  if (line.empty()) {
    bool final_block = t->response.status >= 200 || t->response.status == 0;
    if (t->in_headers && final_block) {
      t->in_headers = false;
      if (t->handler == nullptr) internal::ReserveBody(t->response.headers, &t->response.body);
      if (t->handler != nullptr &&
          !t->handler->OnHeaders(t->response.status, t->response.headers)) {
        t->stopped_by_handler = true;
        return 0;
      }
    }
    return n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    t->response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return n;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->last_activity = Clock::now();
  if (t->handler == nullptr) {
    t->response.body.append(data, n);
    return n;
  }
  if (!t->handler->OnData(std::string_view(data, n))) {
    t->stopped_by_handler = true;
    return 0;
  }
  return n;
}

absl::Status TransferError(const Transfer& t, CURLcode code) {
  std::string where = absl::StrCat(t.request.method, " ", Redacted(t.request.url), ": ");
  std::string detail = t.error[0] != 0 ? t.error : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(absl::StrCat(where, detail));
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return absl::InvalidArgumentError(absl::StrCat(where, detail));
    default:
      return absl::UnavailableError(absl::StrCat(where, detail));
  }
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options) : options_(std::move(options)) {}

  absl::Status Init() {
    static std::once_flag once;
    static CURLcode global = CURLE_OK;
    std::call_once(once, [] { global = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (global != CURLE_OK) return absl::InternalError("curl_global_init failed");
    multi_ = curl_multi_init();
    share_ = curl_share_init();
    if (multi_ == nullptr || share_ == nullptr) return absl::InternalError("curl init failed");
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_connections_per_host);
    // One thread uses the share, so it needs no lock functions.
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    loop_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  ~CurlTransport() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    if (multi_ != nullptr) curl_multi_wakeup(multi_);
    if (loop_.joinable()) loop_.join();
    for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  void Start(HttpRequest request, StreamHandler* handler,
             std::function<void(absl::StatusOr<HttpResponse>)> done) override {
    auto transfer = std::make_unique<Transfer>();
    transfer->request = std::move(request);
    transfer->handler = handler;
    transfer->done = std::move(done);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        queue_.push_back(std::move(transfer));
        transfer = nullptr;
      }
    }
    if (transfer != nullptr) {
      transfer->done(absl::CancelledError("the HTTP transport is shutting down"));
      return;
    }
    curl_multi_wakeup(multi_);
  }

 private:
  // Prepares the easy handle; false (and `done` called) for a request that cannot start.
  bool Begin(std::unique_ptr<Transfer>& t) {
    // Easy handles are reused (reset first): a fresh one allocates its buffers again.
    CURL* easy = nullptr;
    if (!idle_easy_.empty()) {
      easy = idle_easy_.back();
      idle_easy_.pop_back();
      curl_easy_reset(easy);
    } else {
      easy = curl_easy_init();
    }
    if (easy == nullptr) {
      t->done(absl::InternalError("curl_easy_init failed"));
      return false;
    }
    t->easy = easy;
    const HttpRequest& r = t->request;
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(easy, CURLOPT_SHARE, share_);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeaderLine);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    // No CURLOPT_PIPEWAIT: it holds new transfers back while a connection is being opened to
    // learn whether it multiplexes, which serialises bursts to HTTP/1.1 servers. Once a
    // connection is known to speak HTTP/2, libcurl multiplexes onto it anyway.
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate/br as built.
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    if (!options_.ca_path.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_path.c_str());
    if (!options_.proxy.empty()) curl_easy_setopt(easy, CURLOPT_PROXY, options_.proxy.c_str());
    if (r.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    for (const auto& [name, value] : r.headers) {
      if (name.find_first_of(":\r\n") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        t->done(absl::InvalidArgumentError(absl::StrCat("header \"", name,
                                                        "\" has a name or value with ':' or a "
                                                        "line break")));
        Release(easy);
        return false;
      }
      t->header_list = curl_slist_append(t->header_list, (name + ": " + value).c_str());
    }
    t->header_list = curl_slist_append(t->header_list, "Expect:");  // No 100-continue wait.
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->header_list);
    t->last_activity = Clock::now();
    curl_multi_add_handle(multi_, easy);
    return true;
  }

  // Keeps up to 64 idle easy handles for later requests.
  void Release(CURL* easy) {
    if (idle_easy_.size() < 64) {
      idle_easy_.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  void Finish(Transfer* raw, absl::Status error) {
    std::unique_ptr<Transfer> t(raw);
    active_.erase(raw);
    curl_multi_remove_handle(multi_, t->easy);
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    Release(t->easy);
    if (!error.ok()) {
      t->done(std::move(error));
      return;
    }
    t->response.status = static_cast<int>(status);
    t->done(std::move(t->response));
  }

  absl::Status Outcome(const Transfer& t, CURLcode code) {
    if (t.stopped_by_handler) return absl::CancelledError("the stream handler stopped the request");
    if (t.request.cancellation != nullptr && t.request.cancellation->cancelled()) {
      return absl::CancelledError("request cancelled");
    }
    if (t.idle_expired) {
      return absl::DeadlineExceededError(
          absl::StrCat(t.request.method, " ", Redacted(t.request.url), ": no bytes for ",
                       t.request.idle_timeout.count(), " ms (idle timeout)"));
    }
    if (code == CURLE_OK) return absl::OkStatus();
    return TransferError(t, code);
  }

  void Loop() {
    while (true) {
      std::deque<std::unique_ptr<Transfer>> incoming;
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(mu_);
        incoming.swap(queue_);
        stopping = stopping_;
      }
      for (auto& t : incoming) {
        if (stopping) {
          t->done(absl::CancelledError("the HTTP transport is shutting down"));
          continue;
        }
        if (Begin(t)) active_.insert(t.release());
      }
      if (stopping) {
        while (!active_.empty()) {
          Finish(*active_.begin(), absl::CancelledError("the HTTP transport is shutting down"));
        }
        return;
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
        if (message->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &t);
        Finish(t, Outcome(*t, message->data.result));
      }
      // Cancellations and idle timeouts, checked at least every 50 ms.
      Clock::time_point now = Clock::now();
      std::vector<Transfer*> expired;
      for (Transfer* t : active_) {
        bool cancelled = t->request.cancellation != nullptr && t->request.cancellation->cancelled();
        auto idle = t->request.idle_timeout;
        if (!cancelled && idle.count() > 0 && now - t->last_activity > idle) t->idle_expired = true;
        if (cancelled || t->idle_expired) expired.push_back(t);
      }
      for (Transfer* t : expired) Finish(t, Outcome(*t, CURLE_ABORTED_BY_CALLBACK));
      curl_multi_poll(multi_, nullptr, 0, 50, nullptr);
    }
  }

  CurlTransportOptions options_;
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  std::thread loop_;
  std::mutex mu_;
  std::deque<std::unique_ptr<Transfer>> queue_;  // Guarded by mu_.
  bool stopping_ = false;                        // Guarded by mu_.
  std::unordered_set<Transfer*> active_;         // Loop thread only.
  std::vector<CURL*> idle_easy_;                 // Loop thread only.
};

}  // namespace

absl::StatusOr<std::shared_ptr<HttpTransport>> NewCurlTransport(CurlTransportOptions options) {
  auto transport = std::make_shared<CurlTransport>(std::move(options));
  if (absl::Status status = transport->Init(); !status.ok()) return status;
  return transport;
}

}  // namespace llmkit
