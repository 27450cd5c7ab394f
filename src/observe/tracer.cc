// Tracer: spans with W3C trace context, the bounded export queue and its background thread
// (OTLP/HTTP JSON batches with retry), and TracerOptionsFromEnvironment.

#include <zlib.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/percent.h"
#include "llmkit/observe.h"
#include "llmkit/status.h"
#include "observe/metrics.h"
#include "observe/metrics_endpoint.h"

namespace llmkit {

struct Span::Data {
  std::string name;
  SpanKind kind = SpanKind::kClient;
  std::string trace_id;   // 32 hex digits.
  std::string span_id;    // 16 hex digits.
  std::string parent_id;  // Empty for a root span.
  std::string tracestate;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  std::chrono::steady_clock::time_point start;  // start_ns on the steady clock.
  // The first attribute_count are the span's; the rest are kept from an earlier span so that
  // their strings' storage is reused (a span's Data is recycled: see DataPool).
  Attributes attributes;
  size_t attribute_count = 0;
  uint64_t key_bits = 0;  // KeyBit of each key set: a key whose bit is clear is new.
  bool error = false;
  std::string status_message;
};

namespace {

// `text` as a gzip member (RFC 1952), for Content-Encoding: gzip.
std::string Gzip(std::string_view text) {
  z_stream stream{};
  // 15 window bits + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return std::string(text);  // Cannot happen with these constant arguments.
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(text.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);  // deflateBound leaves room for everything in one call.
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

// `digits` random hex digits into `*out` (its storage reused), two digits per table lookup.
// SplitMix64 per thread, seeded from the system's entropy: ids need to be unpredictable enough
// not to collide (W3C trace context), not cryptographic.
void RandomHex(size_t digits, std::string* out) {
  thread_local uint64_t state = (uint64_t{std::random_device{}()} << 32 | std::random_device{}()) ^
                                std::hash<std::thread::id>{}(std::this_thread::get_id());
  static constexpr char kHex[] = "0123456789abcdef";
  static const auto* const kPairs = [] {
    auto* pairs = new std::array<char, 512>();
    for (int b = 0; b < 256; ++b) {
      (*pairs)[2 * b] = kHex[b >> 4];
      (*pairs)[2 * b + 1] = kHex[b & 15];
    }
    return pairs;
  }();
  out->resize(digits);
  char* p = out->data();
  uint64_t any = 0;
  for (size_t i = 0; i < digits; i += 16) {
    uint64_t z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    z ^= z >> 31;
    any |= z;
    for (size_t j = i; j + 1 < i + 16 && j + 1 < digits; j += 2, z >>= 8) {
      std::memcpy(p + j, kPairs->data() + 2 * (z & 0xff), 2);
    }
  }
  if (any == 0) out->back() = '1';  // All zeros is invalid in W3C trace context.
}

// Ended spans' Data, kept for the next spans: a span's strings (ids, attribute keys and values)
// then reuse their storage instead of allocating about twenty times per span. Each thread keeps
// a few; the export thread returns what it sent to a shared list that threads draw from.
class DataPool {
 public:
  static std::unique_ptr<Span::Data> Take() {
    Local* mine = Mine();
    if (mine == nullptr) return std::make_unique<Span::Data>();
    Local& local = *mine;
    if (local.free.empty()) {
      std::lock_guard lock(shared_mu());
      auto& shared = shared_free();
      while (!shared.empty() && local.free.size() < kBatch) {
        local.free.push_back(std::move(shared.back()));
        shared.pop_back();
      }
    }
    if (local.free.empty()) return std::make_unique<Span::Data>();
    std::unique_ptr<Span::Data> data = std::move(local.free.back());
    local.free.pop_back();
    return data;
  }
  // On the thread that ended the span (it was not exported).
  static void GiveLocal(std::unique_ptr<Span::Data> data) {
    Local* local = Mine();
    if (local == nullptr || local->free.size() >= kLocal) return;
    Trim(*data);
    local->free.push_back(std::move(data));
  }
  // From the export thread.
  static void GiveShared(std::vector<std::unique_ptr<Span::Data>>& batch) {
    for (auto& data : batch) Trim(*data);
    std::lock_guard lock(shared_mu());
    auto& shared = shared_free();
    for (auto& data : batch) {
      if (shared.size() >= kShared) break;
      shared.push_back(std::move(data));
    }
    batch.clear();
  }

 private:
  static constexpr size_t kLocal = 16, kBatch = 16, kShared = 1024;
  // A kept Data holds no big strings (recorded message content, long errors): at most about
  // kKeepBytes a string, so the pool stays a few megabytes at most.
  static constexpr size_t kKeepBytes = 1024;
  static void Trim(Span::Data& data) {
    auto trim = [](std::string& text) {
      if (text.capacity() > kKeepBytes) std::string().swap(text);
    };
    trim(data.name);
    trim(data.status_message);
    trim(data.tracestate);
    if (data.attributes.size() > 64) data.attributes.resize(64);
    for (auto& [key, value] : data.attributes) {
      trim(key);
      if (value.index() != 0 || std::get<std::string>(value).capacity() > kKeepBytes) {
        value = std::string();  // Lists and big strings are not kept.
      }
    }
  }
  // Set once this thread's Local is destroyed (spans ended by other thread-local or static
  // destructors at exit then neither take from nor give to it). Trivially destructible, so it
  // stays readable until the thread is gone.
  static inline thread_local bool gone = false;
  struct Local {
    std::vector<std::unique_ptr<Span::Data>> free;
    ~Local() { gone = true; }
  };
  static Local* Mine() {
    if (gone) return nullptr;
    thread_local Local local;
    return &local;
  }
  static std::mutex& shared_mu() {
    static auto* mu = new std::mutex;
    return *mu;
  }
  static std::vector<std::unique_ptr<Span::Data>>& shared_free() {
    static auto* free = new std::vector<std::unique_ptr<Span::Data>>;
    return *free;
  }
};

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The trace and parent span ids of a traceparent ("00-<32>-<16>-<2>"); false when malformed.
bool ParseTraceparent(std::string_view header, std::string* trace_id, std::string* parent_id) {
  if (header.size() != 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') {
    return false;
  }
  std::string_view version = header.substr(0, 2), trace = header.substr(3, 32),
                   parent = header.substr(36, 16), flags = header.substr(53, 2);
  if (!IsHex(version) || version == "ff" || !IsHex(trace) || !IsHex(parent) || !IsHex(flags) ||
      trace.find_first_not_of('0') == std::string_view::npos ||
      parent.find_first_not_of('0') == std::string_view::npos) {
    return false;
  }
  trace_id->assign(trace.data(), trace.size());
  parent_id->assign(parent.data(), parent.size());
  return true;
}

Json SpanJson(const Span::Data& span) {
  Json out = Json::MakeObject();
  out.Set("traceId", span.trace_id);  // Hex (OTLP/JSON).
  out.Set("spanId", span.span_id);
  if (!span.parent_id.empty()) out.Set("parentSpanId", span.parent_id);
  if (!span.tracestate.empty()) out.Set("traceState", span.tracestate);
  out.Set("name", span.name);
  out.Set("kind", static_cast<int>(span.kind));
  out.Set("startTimeUnixNano", absl::StrCat(span.start_ns));
  out.Set("endTimeUnixNano", absl::StrCat(span.end_ns));
  out.Set("attributes", internal::OtlpAttributes(span.attributes.data(), span.attribute_count));
  Json status = Json::MakeObject();
  if (span.error) {
    status.Set("code", 2);
    status.Set("message", span.status_message);
  }
  out.Set("status", std::move(status));
  return out;
}

bool Retryable(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

class Tracer::Impl {
 public:
  explicit Impl(TracerOptions o) : options(std::move(o)) {}

  // A resource and scope around `items` (spans or metrics) under the kind's keys.
  Json Envelope(const char* resource_key, const char* scope_key, const char* items_key,
                Json items) const {
    Attributes resource = {{"service.name", options.service_name}};
    resource.insert(resource.end(), options.resource.begin(), options.resource.end());
    Json r = Json::MakeObject();
    r.Set("attributes", internal::OtlpAttributes(resource));
    Json scope = Json::MakeObject();
    scope.Set("name", "llmkit");
    Json scoped = Json::MakeObject();
    scoped.Set("scope", std::move(scope));
    scoped.Set(items_key, std::move(items));
    Json scoped_list = Json::MakeArray();
    scoped_list.push_back(std::move(scoped));
    Json entry = Json::MakeObject();
    entry.Set("resource", std::move(r));
    entry.Set(scope_key, std::move(scoped_list));
    Json list = Json::MakeArray();
    list.push_back(std::move(entry));
    Json out = Json::MakeObject();
    out.Set(resource_key, std::move(list));
    return out;
  }

  // POSTs `body`, retrying 429/5xx and transport errors with backoff (Retry-After honoured)
  // until `deadline`.
  absl::Status Post(const std::string& url, std::string body,
                    std::chrono::steady_clock::time_point deadline) {
    std::chrono::milliseconds backoff(500);
    const bool gzip = options.compression == "gzip";
    if (gzip) body = Gzip(body);
    for (int attempt = 0;; ++attempt) {
      HttpRequest request;
      request.url = url;
      request.body = body;
      request.headers = {{"Content-Type", "application/json"}};
      if (gzip) request.headers.emplace_back("Content-Encoding", "gzip");
      request.headers.insert(request.headers.end(), options.headers.begin(), options.headers.end());
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return absl::DeadlineExceededError("OTLP export: out of time");
      request.timeout =
          std::max(std::chrono::milliseconds(1),
                   std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
      request.connect_timeout = std::min(request.timeout, std::chrono::milliseconds(10'000));
      absl::StatusOr<HttpResponse> response = transport->Send(std::move(request));
      absl::Status failure;
      std::chrono::milliseconds wait = backoff;
      if (response.ok() && response->status >= 200 && response->status < 300) {
        return absl::OkStatus();
      }
      if (response.ok()) {
        failure = absl::UnavailableError(
            absl::StrCat("OTLP export to ", url, ": HTTP ", response->status));
        if (!Retryable(response->status)) return failure;
        if (auto after = response->Header("Retry-After")) {
          int seconds = 0;
          if (absl::SimpleAtoi(internal::ToAbsl(*after), &seconds) && seconds >= 0) {
            wait = std::chrono::milliseconds(std::min(seconds, 60) * 1000);
          }
        }
      } else {
        failure = absl::UnavailableError(
            absl::StrCat("OTLP export to ", url, ": ", response.status().message()));
      }
      if (attempt >= 4 || std::chrono::steady_clock::now() + wait >= deadline) return failure;
      std::this_thread::sleep_for(wait);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(8000));
    }
  }

  std::chrono::steady_clock::time_point ExportDeadline() {
    std::lock_guard lock(mu);
    return std::min(std::chrono::steady_clock::now() + options.export_timeout, stop_deadline);
  }

  void Run() {
    auto next_metrics = std::chrono::steady_clock::now() + options.metric_export_interval;
    std::unique_lock lock(mu);
    while (true) {
      const auto next_spans = queue.empty() ? std::chrono::steady_clock::time_point::max()
                                            : oldest + options.schedule_delay;
      cv.wait_until(lock, std::min(next_spans, next_metrics), [&] {
        return stopping || flush_requested > flush_done ||
               queue.size() >= options.max_export_batch_size;
      });
      const auto now = std::chrono::steady_clock::now();
      const uint64_t flush_target = flush_requested;
      const bool flushing = flush_target > flush_done || stopping;
      absl::Status result;
      // Spans: full batches now, the rest when due or flushing.
      while (!queue.empty() && (flushing || queue.size() >= options.max_export_batch_size ||
                                now >= oldest + options.schedule_delay)) {
        const size_t n = std::min(queue.size(), options.max_export_batch_size);
        std::vector<std::unique_ptr<Span::Data>> batch;
        batch.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        oldest = std::chrono::steady_clock::now();
        lock.unlock();  // Encoding and sending do not hold up the calls that end spans.
        Json spans = Json::MakeArray();
        for (const std::unique_ptr<Span::Data>& span : batch) spans.push_back(SpanJson(*span));
        DataPool::GiveShared(batch);
        absl::Status sent = absl::OkStatus();
        if (!options.traces_endpoint.empty()) {
          sent = Post(options.traces_endpoint,
                      Envelope("resourceSpans", "scopeSpans", "spans", std::move(spans)).Dump(),
                      ExportDeadline());
        }
        lock.lock();
        if (sent.ok()) {
          exported += n;
        } else {
          ++failures;
          result.Update(sent);
        }
      }
      if (flushing || now >= next_metrics) {
        next_metrics = now + options.metric_export_interval;
        if (!options.metrics_endpoint.empty()) {
          lock.unlock();
          Json metrics = store.OtlpMetrics(internal::UnixNanos());
          absl::Status sent = absl::OkStatus();
          if (!metrics.as_array().empty()) {
            sent = Post(
                options.metrics_endpoint,
                Envelope("resourceMetrics", "scopeMetrics", "metrics", std::move(metrics)).Dump(),
                ExportDeadline());
          }
          lock.lock();
          if (!sent.ok()) {
            ++failures;
            result.Update(sent);
          }
        }
      }
      if (flushing) {
        flush_done = flush_target;
        flush_status = result;
        flushed.notify_all();
      }
      if (stopping) return;
    }
  }

  TracerOptions options;
  std::shared_ptr<HttpTransport> transport;
  internal::MetricStore store;

  std::mutex mu;
  std::condition_variable cv;       // Wakes the exporter.
  std::condition_variable flushed;  // Wakes Flush callers.
  std::deque<std::unique_ptr<Span::Data>> queue;
  std::chrono::steady_clock::time_point oldest;  // When the batch now queued began.
  uint64_t flush_requested = 0, flush_done = 0;
  absl::Status flush_status;
  bool stopping = false;  // The exporter drains and exits, by stop_deadline.
  std::chrono::steady_clock::time_point stop_deadline =
      std::chrono::steady_clock::time_point::max();
  uint64_t ended = 0, exported = 0, dropped = 0, failures = 0;
  std::thread thread;

  std::mutex endpoint_mu;  // Guards endpoint.
  std::unique_ptr<internal::MetricsEndpoint> endpoint;
};

Span::Span() = default;
Span::Span(Span&& other) noexcept = default;
Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    End();
    tracer_ = std::move(other.tracer_);
    data_ = std::move(other.data_);
  }
  return *this;
}
Span::~Span() { End(); }

void Span::SetName(std::string name) {
  if (data_ != nullptr) data_->name = std::move(name);
}

namespace {
// One of 64 bits for `key`, from its length and two of its bytes (cheap; a filter, not a hash
// table: a set bit only means the key may be there).
uint64_t KeyBit(std::string_view key) {
  if (key.empty()) return 1;
  const size_t mix = key.size() * 131 + static_cast<unsigned char>(key.back()) * 7 +
                     static_cast<unsigned char>(key[key.size() / 2]);
  return uint64_t{1} << (mix & 63);
}
}  // namespace

AttributeValue& Span::Slot(std::string_view key) {
  Attributes& attributes = data_->attributes;
  const uint64_t bit = KeyBit(key);
  if ((data_->key_bits & bit) != 0) {
    for (size_t i = 0; i < data_->attribute_count; ++i) {
      if (attributes[i].first == key) return attributes[i].second;
    }
  }
  data_->key_bits |= bit;
  if (data_->attribute_count == attributes.size()) {
    attributes.emplace_back(std::string(key), AttributeValue());
  } else {
    attributes[data_->attribute_count].first.assign(key.data(), key.size());
  }
  return attributes[data_->attribute_count++].second;
}

void Span::SetAttribute(std::string_view key, AttributeValue value) {
  if (data_ == nullptr) return;
  AttributeValue& slot = Slot(key);
  if (const auto* text = std::get_if<std::string>(&value); text != nullptr) {
    internal::AssignString(&slot, *text);
  } else {
    slot = std::move(value);
  }
}

void Span::SetStringAttribute(std::string_view key, std::string_view value) {
  if (data_ == nullptr) return;
  internal::AssignString(&Slot(key), value);
}

void Span::SetError(std::string type, std::string message) {
  if (data_ == nullptr) return;
  data_->error = true;
  data_->status_message = std::move(message);
  SetAttribute("error.type", std::move(type));
}

namespace {
// "00-<trace id>-<span id>-01" into `out` (its storage reused).
void WriteTraceparent(const std::string& trace_id, const std::string& span_id, std::string* out) {
  out->resize(3 + trace_id.size() + 1 + span_id.size() + 3);
  char* p = out->data();
  std::memcpy(p, "00-", 3);
  std::memcpy(p + 3, trace_id.data(), trace_id.size());
  p += 3 + trace_id.size();
  *p++ = '-';
  std::memcpy(p, span_id.data(), span_id.size());
  std::memcpy(p + span_id.size(), "-01", 3);
}
}  // namespace

std::string Span::traceparent() const {
  std::string out;
  if (data_ != nullptr) WriteTraceparent(data_->trace_id, data_->span_id, &out);
  return out;
}

CallContext Span::ChildContext(const CallContext& call) const {
  CallContext out = call;
  if (data_ != nullptr) {
    WriteTraceparent(data_->trace_id, data_->span_id, &out.trace.traceparent);
    out.trace.tracestate = data_->tracestate;
  }
  return out;
}

std::chrono::steady_clock::time_point Span::start_time() const {
  return data_ != nullptr ? data_->start : std::chrono::steady_clock::now();
}

void Span::End() {
  if (data_ != nullptr) End(std::chrono::steady_clock::now());
}

void Span::End(std::chrono::steady_clock::time_point end) {
  if (data_ == nullptr) return;
  data_->end_ns =
      data_->start_ns +
      std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(end - data_->start).count());
  tracer_->Finish(std::move(data_));
  tracer_.reset();
}

Tracer::Tracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::shared_ptr<Tracer>> Tracer::Create(TracerOptions options) {
  if (options.max_queue_size == 0 || options.max_export_batch_size == 0 ||
      options.max_export_batch_size > options.max_queue_size) {
    return absl::InvalidArgumentError(
        "TracerOptions: max_queue_size and max_export_batch_size must be positive, the batch no "
        "larger than the queue");
  }
  if (options.schedule_delay.count() <= 0 || options.export_timeout.count() <= 0 ||
      options.metric_export_interval.count() <= 0) {
    return absl::InvalidArgumentError(
        "TracerOptions: schedule_delay, export_timeout and metric_export_interval must be > 0");
  }
  for (const std::string* url : {&options.traces_endpoint, &options.metrics_endpoint}) {
    if (!url->empty() && url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("TracerOptions: endpoint \"", *url, "\" is not an http(s) URL"));
    }
  }
  if (options.compression == "none") options.compression.clear();
  if (!options.compression.empty() && options.compression != "gzip") {
    return absl::InvalidArgumentError(absl::StrCat(
        "TracerOptions: compression \"", options.compression, "\" is not \"gzip\" or \"none\""));
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  const bool exports =
      !impl->options.traces_endpoint.empty() || !impl->options.metrics_endpoint.empty();
  if (exports && !impl->options.disabled) {
    impl->transport = impl->options.transport;
    if (impl->transport == nullptr) {
      LLMKIT_ASSIGN_OR_RETURN(impl->transport, NewCurlTransport());
    }
  }
  std::shared_ptr<Tracer> tracer(new Tracer(std::move(impl)));
  if (exports && !tracer->impl_->options.disabled) {
    Impl* raw = tracer->impl_.get();
    raw->thread = std::thread([raw] { raw->Run(); });
  }
  return tracer;
}

Tracer::~Tracer() {
  Shutdown(std::chrono::steady_clock::now() + impl_->options.export_timeout).IgnoreError();
}

absl::Status Tracer::Shutdown(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard endpoint_lock(impl_->endpoint_mu);
    impl_->endpoint.reset();
  }
  std::unique_lock lock(impl_->mu);
  if (!impl_->thread.joinable() || impl_->stopping) return absl::OkStatus();
  // The final exports (everything queued, and the metrics) get until `deadline` in all.
  impl_->stopping = true;
  impl_->stop_deadline = deadline;
  const uint64_t target = ++impl_->flush_requested;
  lock.unlock();
  impl_->cv.notify_all();
  impl_->thread.join();
  lock.lock();
  return impl_->flush_done >= target ? impl_->flush_status : absl::OkStatus();
}

Span Tracer::StartSpan(std::string_view name, const TraceContext& parent, SpanKind kind) {
  Span span;
  if (impl_->options.disabled) return span;
  std::unique_ptr<Span::Data> data = DataPool::Take();
  data->attributes.reserve(24);  // A chat span's attributes, allocated once.
  data->attribute_count = 0;
  data->key_bits = 0;
  data->error = false;
  data->status_message.clear();
  data->end_ns = 0;
  data->name.assign(name.data(), name.size());
  data->kind = kind;
  data->tracestate.clear();
  if (!ParseTraceparent(parent.traceparent, &data->trace_id, &data->parent_id)) {
    data->parent_id.clear();
    RandomHex(32, &data->trace_id);
  } else {
    data->tracestate = parent.tracestate;
  }
  RandomHex(16, &data->span_id);
  data->start_ns = internal::UnixNanos();
  data->start = std::chrono::steady_clock::now();
  span.tracer_ = shared_from_this();
  span.data_ = std::move(data);
  return span;
}

void Tracer::Finish(std::unique_ptr<Span::Data> span) {
  std::unique_lock lock(impl_->mu);
  ++impl_->ended;
  if (!impl_->thread.joinable() || impl_->stopping ||  // Nothing exports spans.
      impl_->queue.size() >= impl_->options.max_queue_size) {
    if (impl_->thread.joinable() && !impl_->stopping) ++impl_->dropped;
    lock.unlock();
    DataPool::GiveLocal(std::move(span));
    return;
  }
  if (impl_->queue.empty()) impl_->oldest = std::chrono::steady_clock::now();
  impl_->queue.push_back(std::move(span));
  if (impl_->queue.size() >= impl_->options.max_export_batch_size) impl_->cv.notify_one();
}

namespace {
// The token type attribute of gen_ai.client.token.usage, built once.
const internal::Attribute* const kInputTokens =
    new internal::Attribute("gen_ai.token.type", std::string("input"));
const internal::Attribute* const kOutputTokens =
    new internal::Attribute("gen_ai.token.type", std::string("output"));

// The histograms, by the conventions (llmkit's cost in its own namespace).
const internal::HistogramSpec& TokenUsage() {
  static const internal::HistogramSpec spec{"gen_ai.client.token.usage", "{token}",
                                            "Number of input and output tokens used.",
                                            internal::TokenBuckets()};
  return spec;
}
const internal::HistogramSpec& OperationDuration() {
  static const internal::HistogramSpec spec{"gen_ai.client.operation.duration", "s",
                                            "GenAI operation duration.",
                                            internal::SecondsBuckets()};
  return spec;
}
const internal::HistogramSpec& TimeToFirstChunk() {
  static const internal::HistogramSpec spec{"gen_ai.client.operation.time_to_first_chunk", "s",
                                            "Time to receive the first chunk of a streamed answer.",
                                            internal::SecondsBuckets()};
  return spec;
}
const internal::HistogramSpec& OperationCost() {
  // A cent's fractions up to tens of dollars, x4 like the token buckets.
  static const auto* const bounds =
      new std::vector<double>{1e-6,     4e-6,     1.6e-5,   6.4e-5,   2.56e-4,  1.024e-3, 4.096e-3,
                              0.016384, 0.065536, 0.262144, 1.048576, 4.194304, 16.777216};
  static const internal::HistogramSpec spec{
      "llmkit.client.operation.cost", "USD",
      "Cost of priced GenAI operations in US dollars (cost.h).", *bounds};
  return spec;
}

void Observe(internal::MetricStore& store, const internal::HistogramSpec& spec, double value,
             const Attributes& attributes, const internal::Attribute& extra = {}) {
  store.Observe(spec.name, spec.unit, spec.description, spec.bounds, value, attributes, extra);
}
}  // namespace

void Tracer::RecordTokens(int64_t tokens, std::string_view token_type,
                          const Attributes& attributes) {
  if (impl_->options.disabled) return;
  Observe(impl_->store, TokenUsage(), static_cast<double>(tokens), attributes,
          token_type == "input" ? *kInputTokens
          : token_type == "output"
              ? *kOutputTokens
              : internal::Attribute("gen_ai.token.type", std::string(token_type)));
}

void Tracer::RecordDuration(double seconds, const Attributes& attributes) {
  if (impl_->options.disabled) return;
  Observe(impl_->store, OperationDuration(), seconds, attributes);
}

void Tracer::RecordTimeToFirstChunk(double seconds, const Attributes& attributes) {
  if (impl_->options.disabled) return;
  Observe(impl_->store, TimeToFirstChunk(), seconds, attributes);
}

void Tracer::RecordCost(double usd, const Attributes& attributes) {
  if (impl_->options.disabled) return;
  Observe(impl_->store, OperationCost(), usd, attributes);
}

void Tracer::RecordCall(const CallMetrics& metrics, const Attributes& attributes) {
  if (impl_->options.disabled) return;
  internal::Observation observations[internal::MetricStore::kMaxObservations];
  size_t count = 0;
  if (metrics.input_tokens) {
    observations[count++] = {&TokenUsage(), static_cast<double>(*metrics.input_tokens),
                             kInputTokens};
  }
  if (metrics.output_tokens) {
    observations[count++] = {&TokenUsage(), static_cast<double>(*metrics.output_tokens),
                             kOutputTokens};
  }
  if (metrics.cost_usd) observations[count++] = {&OperationCost(), *metrics.cost_usd};
  observations[count++] = {&OperationDuration(), metrics.duration_seconds};
  impl_->store.ObserveAll(observations, count, attributes);
}

void Tracer::AddCounter(std::string_view name, int64_t value, const Attributes& attributes) {
  if (impl_->options.disabled) return;
  impl_->store.Add(name, "1", "llmkit counter", value, attributes);
}

absl::Status Tracer::Flush(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(impl_->mu);
  if (!impl_->thread.joinable() || impl_->stopping) return absl::OkStatus();
  const uint64_t target = ++impl_->flush_requested;
  impl_->cv.notify_all();
  if (!impl_->flushed.wait_until(lock, deadline, [&] { return impl_->flush_done >= target; })) {
    return absl::DeadlineExceededError("tracer flush: exports still running at the deadline");
  }
  return impl_->flush_status;
}

std::string Tracer::PrometheusText() const { return impl_->store.Prometheus(); }

absl::StatusOr<int> Tracer::ServeMetrics(const std::string& address, int port) {
  std::lock_guard lock(impl_->endpoint_mu);
  if (impl_->endpoint != nullptr) {
    return absl::FailedPreconditionError("ServeMetrics: the tracer already serves its metrics");
  }
  internal::MetricStore* store = &impl_->store;
  LLMKIT_ASSIGN_OR_RETURN(impl_->endpoint, internal::MetricsEndpoint::Start(address, port, [store] {
                            return store->Prometheus();
                          }));
  return impl_->endpoint->port();
}

TracerStats Tracer::stats() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->ended, impl_->exported, impl_->dropped, impl_->failures};
}

const TracerOptions& Tracer::options() const { return impl_->options; }

Attributes Tracer::TagAttributes(const CallContext& call) const {
  Attributes out;
  for (const std::string& key : impl_->options.tag_attributes) {
    for (const auto& [k, v] : call.tags) {
      if (k == key) out.emplace_back("llmkit.tag." + key, v);
    }
  }
  return out;
}

namespace {

// "key=value,key=value" with values percent-decoded; empty keys skipped.
std::vector<std::pair<std::string, std::string>> KeyValueList(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view pair : absl::StrSplit(text, ',')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    std::string key(absl::StripAsciiWhitespace(kv.first));
    if (key.empty()) continue;
    const absl::string_view value = absl::StripAsciiWhitespace(kv.second);
    out.emplace_back(std::move(key),
                     internal::PercentDecoded(std::string_view(value.data(), value.size())));
  }
  return out;
}

}  // namespace

TracerOptions TracerOptionsFromEnvironment(TracerOptions o) {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
  };
  auto millis = [&](const char* name, std::chrono::milliseconds* out) {
    int64_t v = 0;
    if (absl::SimpleAtoi(env(name), &v) && v > 0) *out = std::chrono::milliseconds(v);
  };
  auto size = [&](const char* name, size_t* out) {
    uint64_t v = 0;
    if (absl::SimpleAtoi(env(name), &v) && v > 0) *out = static_cast<size_t>(v);
  };
  if (absl::AsciiStrToLower(env("OTEL_SDK_DISABLED")) == "true") o.disabled = true;
  if (!env("OTEL_SERVICE_NAME").empty()) o.service_name = env("OTEL_SERVICE_NAME");
  for (auto& [key, value] : KeyValueList(env("OTEL_RESOURCE_ATTRIBUTES"))) {
    if (key == "service.name") {
      if (env("OTEL_SERVICE_NAME").empty()) o.service_name = std::move(value);
      continue;
    }
    o.resource.emplace_back(std::move(key), std::move(value));
  }
  std::string base = env("OTEL_EXPORTER_OTLP_ENDPOINT");
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!base.empty()) {
    o.traces_endpoint = base + "/v1/traces";
    o.metrics_endpoint = base + "/v1/metrics";
  }
  if (!env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").empty())
    o.traces_endpoint = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  if (!env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").empty())
    o.metrics_endpoint = env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
  if (!env("OTEL_EXPORTER_OTLP_COMPRESSION").empty())
    o.compression = env("OTEL_EXPORTER_OTLP_COMPRESSION");
  if (!env("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION").empty())
    o.compression = env("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION");
  // OTEL_EXPORTER_OTLP_TRACES_HEADERS (the exports are one client here) after the general ones.
  // A header whose name or decoded value holds a line break or NUL is not sent: it could add
  // headers of its own.
  for (const char* name : {"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"}) {
    for (auto& [key, value] : KeyValueList(env(name))) {
      if (key.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos ||
          value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        continue;
      }
      o.headers.emplace_back(std::move(key), std::move(value));
    }
  }
  millis("OTEL_BSP_SCHEDULE_DELAY", &o.schedule_delay);
  millis("OTEL_BSP_EXPORT_TIMEOUT", &o.export_timeout);
  millis("OTEL_METRIC_EXPORT_INTERVAL", &o.metric_export_interval);
  size("OTEL_BSP_MAX_QUEUE_SIZE", &o.max_queue_size);
  size("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &o.max_export_batch_size);
  return o;
}

}  // namespace llmkit
