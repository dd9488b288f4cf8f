#include "http/webhook_server.h"

#include <fcntl.h>
#include <httplib.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "http/connection_stream.h"
#include "http/status_table.h"
#include "log/logger.h"
#include "log/thread_name.h"

namespace cmr_bridge {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kWebhookPath = "/webhooks";
constexpr std::string_view kSourcePathPrefix = "/webhooks/";
// What httplib routes to the webhook handler; setup_request has refused every other path
// under /webhooks/ by then.
constexpr const char* kWebhookRoute = R"(/webhooks(/[a-z0-9-]{1,32})?)";
constexpr const char* kSignatureHeader = "cmr-x-signature";
constexpr const char* kTimestampHeader = "cmr-x-timestamp";
// How long a closing connection still reads (and drops) what its client sends, so the response
// just written reaches the client instead of being destroyed by a reset.
constexpr std::chrono::milliseconds kLingerOnClose{500};
// On stop: how long handshakes already past their SYN get to complete before the listener
// closes (new SYNs are dropped from the start of the wait).
constexpr std::chrono::milliseconds kHandshakeSettle{250};
// How long a worker keeps a kept-alive connection after its answer, waiting for the next request
// itself, before it hands the connection to the poller. A sender with several requests to make
// sends the next one within this; each one caught here saves two thread hand-offs (worker ->
// poller -> worker). Only while another worker is idle, so no readable connection waits on it.
constexpr std::chrono::milliseconds kNextRequestWait{2};

void write(httplib::Response& res, const HttpResponse& response) {
  res.status = response.status;
  if (response.retry_after_s > 0) {
    res.set_header("Retry-After", std::to_string(response.retry_after_s));
  }
  res.set_content(response.body, "application/json");
}

std::optional<std::string_view> header(const httplib::Request& req, const char* name) {
  const auto it = req.headers.find(name);  // case-insensitive multimap
  if (it == req.headers.end())
    return std::nullopt;
  return std::string_view(it->second);
}

// The request's W3C trace context, validated (invalid → none; never a refusal). Several
// tracestate headers are one list joined with ',' into `joined` (which the views may point into).
TraceContext trace_context(const httplib::Request& req, std::string& joined) {
  const std::size_t parents = req.get_header_value_count("traceparent");
  if (parents == 0)
    return {};
  std::optional<std::string_view> tracestate;
  const std::size_t states = req.get_header_value_count("tracestate");
  if (states == 1) {
    tracestate = header(req, "tracestate");
  } else if (states > 1) {
    for (std::size_t i = 0; i < states && joined.size() <= kMaxTracestateLength; ++i) {
      if (i > 0)
        joined += ',';
      joined += req.get_header_value("tracestate", i);
    }
    tracestate = joined;
  }
  return parse_trace_context(parents, header(req, "traceparent"), tracestate);
}

// CMR's path or a source's: answered, counted and logged as webhook requests.
bool is_webhook_path(const std::string& path) {
  return path == kWebhookPath || path.starts_with(kSourcePathPrefix);
}

// httplib's request headers as the profiles read them (case-insensitive multimap).
class RequestHeaders final : public HeaderView {
 public:
  explicit RequestHeaders(const httplib::Request& req) : req_(req) {}
  std::size_t count(std::string_view name) const override {
    return req_.get_header_value_count(std::string(name).c_str());
  }
  std::optional<std::string_view> value(std::string_view name) const override {
    return header(req_, std::string(name).c_str());
  }

 private:
  const httplib::Request& req_;
};

std::string lowercase(std::string_view text) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower;
}

// CMR's content type is undocumented; only encodings that cannot carry its JSON body are
// refused, so a signed event is never lost over a header.
bool refused_content_type(const httplib::Request& req) {
  const auto lower = lowercase(req.get_header_value("Content-Type"));
  return lower.rfind("multipart/", 0) == 0 ||
         lower.rfind("application/x-www-form-urlencoded", 0) == 0;
}

bool all_digits(std::string_view text) {
  return !text.empty() && text.size() <= 19 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A whole response for a connection httplib is not parsing (busy, or its request line was
// never read): status line, JSON error body, Connection: close.
std::string raw_response(const HttpResponse& response, const char* reason) {
  std::string text = "HTTP/1.1 " + std::to_string(response.status) + " " + reason +
                     "\r\nContent-Type: application/json\r\nConnection: close\r\n";
  if (response.retry_after_s > 0)
    text += "Retry-After: " + std::to_string(response.retry_after_s) + "\r\n";
  text += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n" + response.body;
  return text;
}

// Lets a listening socket refuse new connections (pure SYNs are dropped) while handshakes already
// under way still complete, so the accept backlog can be drained before the listener closes.
void drop_new_syns(int listener) {
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),  // TCP flags byte (the filter sees the TCP header)
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),  // SYN without ACK
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(code)), code};
  setsockopt(listener, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program);
}

// cpp-httplib parses and routes; this class only opens its protected request processor and
// listening socket, so connections, their bounds and the drain are ours.
class HttpEngine {
 public:
  virtual ~HttpEngine() = default;
  virtual httplib::Server& server() = 0;
  virtual bool process(httplib::Stream& stream, bool close_connection, bool& connection_closed,
                       const std::function<void(httplib::Request&)>& setup) = 0;
  virtual int listener() const = 0;
  virtual void forget_listener() = 0;
  virtual SSL_CTX* tls_context() const = 0;
};

template <class Base>
class Engine final : public Base, public HttpEngine {
 public:
  using Base::Base;
  httplib::Server& server() override { return *this; }
  bool process(httplib::Stream& stream, bool close_connection, bool& connection_closed,
               const std::function<void(httplib::Request&)>& setup) override {
    return this->process_request(stream, close_connection, connection_closed, setup);
  }
  int listener() const override { return this->svr_sock_; }
  void forget_listener() override { this->svr_sock_ = INVALID_SOCKET; }
  SSL_CTX* tls_context() const override {
    if constexpr (std::is_same_v<Base, httplib::SSLServer>)
      return this->ssl_context();
    else
      return nullptr;
  }
};

struct Connection {
  std::unique_ptr<ConnectionStream> stream;
  bool handshaken = false;
  std::size_t requests = 0;               // answered on this connection
  SteadyClock::time_point idle_deadline;  // while parked: closed when it passes
};

// What the worker thread knows about the request httplib is processing for it.
struct RequestState {
  ConnectionStream* stream = nullptr;
  std::optional<Outcome> refusal;  // decided from the request line and headers
  bool must_close = false;
  const Source* source = nullptr;  // the source its path names; null: CMR
};
thread_local RequestState* current_request = nullptr;

}  // namespace

struct WebhookServer::Impl {
  const IngestPipeline& pipeline;
  PipelineObserver& observer;
  WebhookServerSettings settings;
  const SourceTable* sources;
  std::unique_ptr<HttpEngine> engine;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};
  int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

  // Handed between the poller and the workers under `mutex`.
  std::mutex mutex;
  std::condition_variable work_ready;
  std::deque<std::unique_ptr<Connection>> ready;     // readable, waiting for a worker
  std::deque<std::unique_ptr<Connection>> returned;  // kept alive, back to the poller
  std::set<ConnectionStream*> active;                // owned by a worker right now
  bool workers_exit = false;
  std::atomic<std::size_t> open_connections{0};
  std::atomic<std::size_t> idle_workers{0};  // workers waiting for `ready`

  Impl(const IngestPipeline& p, PipelineObserver& o, WebhookServerSettings s,
       const SourceTable* configured_sources)
      : pipeline(p), observer(o), settings(std::move(s)), sources(configured_sources) {
    if (settings.tls_cert_file.empty())
      engine = std::make_unique<Engine<httplib::Server>>();
    else
      engine = std::make_unique<Engine<httplib::SSLServer>>(settings.tls_cert_file.c_str(),
                                                            settings.tls_key_file.c_str());
  }
  ~Impl() {
    if (engine->listener() >= 0)
      ::close(engine->listener());  // bound but never served
    ::close(wake_fd);
  }

  ConnectionLimits limits() const {
    return {settings.max_header_bytes, settings.max_header_lines,
            std::chrono::duration_cast<std::chrono::milliseconds>(settings.write_timeout)};
  }

  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto ignored = ::write(wake_fd, &one, sizeof one);
  }

  // Records, logs and writes one outcome. Runs on the request's worker thread.
  void respond(httplib::Response& res, Outcome outcome, SteadyClock::time_point started) {
    const auto latency = SteadyClock::now() - started;
    if (outcome.code == OutcomeCode::kUnknownSource)
      outcome.source = {};  // never the path's text: label values come from configuration
    else if (current_request != nullptr && current_request->source != nullptr)
      outcome.source = current_request->source->name;
    observer.on_outcome(outcome, latency);
    const HttpResponse response = to_http(outcome);
    write(res, response);
    if (settings.access_log == AccessLog::kOff || (settings.access_log == AccessLog::kFailures &&
                                                   response.status >= 200 && response.status < 300))
      return;
    log_info("webhook",
             {{"outcome", to_string(outcome.kind)},
              {"code", to_string(outcome.code)},
              {"status", response.status},
              {"event", outcome.event},
              {"eventId", outcome.event_id},
              {"topic", outcome.topic},
              {"partition", static_cast<int64_t>(outcome.partition)},
              {"offset", outcome.offset},
              {"scheme", outcome.signature_scheme},
              {"source", outcome.source},
              {"latency_ms", std::chrono::duration<double, std::milli>(latency).count()}});
  }

  // Refusals for requests whose answer does not need the body; decided before any body byte is
  // read. Every body the bridge reads has a Content-Length within the cap: chunked bodies and
  // bodies delimited by the connection's end are refused (CMR sends Content-Length).
  std::optional<Outcome> admit(const httplib::Request& req, const Source*& source) const {
    if (!is_webhook_path(req.path))
      return rejection(OutcomeCode::kNotFound, "no such endpoint; webhooks go to POST /webhooks");
    if (req.path != kWebhookPath) {
      const std::string_view name = std::string_view(req.path).substr(kSourcePathPrefix.size());
      if (name.empty())
        return rejection(OutcomeCode::kNotFound, "no such endpoint; webhooks go to POST /webhooks");
      if (name.size() > kMaxSourceNameLength) {
        return rejection(OutcomeCode::kUnknownSource,
                         "no source of this name is configured: source names have at most " +
                             std::to_string(kMaxSourceNameLength) + " characters");
      }
      if (!valid_source_name(name)) {
        return rejection(OutcomeCode::kUnknownSource,
                         "no source of this name is configured: source names are [a-z0-9-] "
                         "only (one path segment)");
      }
      source = sources != nullptr ? sources->find(name) : nullptr;
      if (source == nullptr && name != kCmrSourceName)
        return rejection(OutcomeCode::kUnknownSource,
                         "no source of this name is configured; sources are served at "
                         "POST /webhooks/<name> (CMR at /webhooks)");
    }
    if (req.method != "POST")
      return rejection(OutcomeCode::kMethodNotAllowed, "use POST for " + req.path);
    if (req.has_header("Transfer-Encoding"))
      return rejection(OutcomeCode::kLengthRequired,
                       "Transfer-Encoding bodies (chunked) are not accepted; send Content-Length");
    const std::size_t lengths = req.get_header_value_count("Content-Length");
    if (lengths == 0)
      return rejection(OutcomeCode::kLengthRequired, "a Content-Length header is required");
    const std::string length = req.get_header_value("Content-Length");
    if (lengths > 1 || !all_digits(length))
      return rejection(OutcomeCode::kBadRequest,
                       "Content-Length must appear once, as a decimal number");
    if (std::stoull(length) > settings.max_body_bytes)
      return rejection(OutcomeCode::kPayloadTooLarge,
                       "body larger than " + std::to_string(settings.max_body_bytes) + " bytes");
    // httplib would parse a multipart body itself, outside the body cap's receiver.
    if (refused_content_type(req))
      return rejection(OutcomeCode::kUnsupportedMediaType, "the body must be JSON");
    const std::string encoding = lowercase(req.get_header_value("Content-Encoding"));
    if (!encoding.empty() && encoding != "identity")
      return rejection(OutcomeCode::kUnsupportedContentEncoding,
                       "Content-Encoding " + encoding + " is not accepted; send the JSON as is");
    return std::nullopt;
  }

  // Runs once the request line and headers are read, before routing or any body byte.
  void setup_request(httplib::Request& req) {
    RequestState& state = *current_request;
    state.refusal = admit(req, state.source);
    if (state.refusal || stopping.load())
      state.must_close = true;
    if (state.must_close) {
      req.headers.erase("Connection");
      req.headers.emplace("Connection", "close");  // httplib then answers Connection: close
    }
  }

  // Writes the refusal decided in setup_request, if any. True when it did.
  bool answer_refusal(const httplib::Request& req, httplib::Response& res) {
    if (current_request == nullptr || !current_request->refusal)
      return false;
    const Outcome& outcome = *current_request->refusal;
    if (outcome.code == OutcomeCode::kMethodNotAllowed)
      res.set_header("Allow", "POST");
    if (is_webhook_path(req.path))
      respond(res, outcome, SteadyClock::now());
    else
      write(res, to_http(outcome));
    return true;
  }

  void handle_webhook(const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& content_reader) {
    const auto started = SteadyClock::now();
    // Content-Length is within the cap (admit); the receiver holds the cap anyway, whatever
    // httplib would hand over.
    std::string body;
    body.reserve(std::min<std::size_t>(std::stoull(req.get_header_value("Content-Length")),
                                       settings.max_body_bytes));
    bool too_large = false;
    const bool complete = content_reader([&](const char* data, std::size_t size) {
      if (body.size() + size > settings.max_body_bytes) {
        too_large = true;
        return false;
      }
      body.append(data, size);
      return true;
    });
    if (!complete) {
      current_request->must_close = true;
      res.set_header("Connection", "close");
      if (too_large) {
        respond(res,
                rejection(OutcomeCode::kPayloadTooLarge,
                          "body larger than " + std::to_string(settings.max_body_bytes) + " bytes"),
                started);
      } else if (current_request->stream->failure() == ReadFailure::kDeadline) {
        respond(res, request_timeout(), started);
      } else {
        respond(res,
                rejection(OutcomeCode::kBadRequest, "the body ended before Content-Length bytes"),
                started);
      }
      return;
    }
    // Admission: a bounded number of requests wait on Kafka at once; the rest are told to
    // come back instead of queueing without a deadline.
    struct InFlight {
      std::atomic<std::size_t>& count;
      ~InFlight() { count.fetch_sub(1, std::memory_order_relaxed); }
    } guard{in_flight};
    if (in_flight.fetch_add(1, std::memory_order_relaxed) >= settings.max_in_flight) {
      respond(res,
              rejection(OutcomeCode::kOverloaded, "too many requests in flight; retry shortly"),
              started);
      return;
    }
    std::string joined_tracestate;
    if (const Source* source = current_request->source) {
      // The source's profile checks its own headers (repeated ones included).
      const RequestHeaders headers(req);
      WebhookRequest request;
      request.body = body;
      request.trace = trace_context(req, joined_tracestate);
      request.source = source;
      request.headers = &headers;
      respond(res, pipeline.handle(request), started);
      return;
    }
    if (req.get_header_value_count(kSignatureHeader) > 1 ||
        req.get_header_value_count(kTimestampHeader) > 1) {
      respond(res,
              rejection(OutcomeCode::kDuplicateAuthHeader,
                        "cmr-x-signature and cmr-x-timestamp must each appear once"),
              started);
      return;
    }
    const WebhookRequest request{header(req, kSignatureHeader), header(req, kTimestampHeader), body,
                                 trace_context(req, joined_tracestate)};
    respond(res, pipeline.handle(request), started);
  }

  Outcome request_timeout() const {
    return rejection(OutcomeCode::kRequestTimeout,
                     "the request line, headers and body must arrive within " +
                         std::to_string(settings.read_timeout.count()) + " s");
  }

  // The refusal for a request httplib could not read, from why our stream stopped it.
  std::optional<Outcome> read_failure_outcome(ReadFailure failure) const {
    switch (failure) {
      case ReadFailure::kDeadline:
        return request_timeout();
      case ReadFailure::kHeaderBytes:
        return rejection(OutcomeCode::kHeaderTooLarge,
                         "request line and headers exceed " +
                             std::to_string(settings.max_header_bytes) + " bytes");
      case ReadFailure::kHeaderLines:
        return rejection(OutcomeCode::kTooManyHeaders,
                         "more than " + std::to_string(settings.max_header_lines) + " headers");
      default:
        return std::nullopt;
    }
  }

  // httplib answered by itself (unparseable request, or our stream cut it): give the response
  // a JSON body and count it like any other refusal.
  void complete_error(const httplib::Request& req, httplib::Response& res) {
    Outcome outcome = rejection(OutcomeCode::kBadRequest, "malformed HTTP request");
    if (current_request != nullptr) {
      current_request->must_close = true;
      if (auto cut = read_failure_outcome(current_request->stream->failure()))
        outcome = std::move(*cut);
    }
    if (res.status == 414)
      outcome = rejection(OutcomeCode::kHeaderTooLarge, "request line longer than 8192 bytes");
    res.set_header("Connection", "close");
    if (is_webhook_path(req.path))
      respond(res, outcome, SteadyClock::now());
    else
      write(res, to_http(outcome));
    if (outcome.code == OutcomeCode::kRequestTimeout ||
        outcome.code == OutcomeCode::kHeaderTooLarge ||
        outcome.code == OutcomeCode::kTooManyHeaders)
      observer.on_connection_cut(to_string(outcome.code));
  }

  // --- connections -----------------------------------------------------------------------

  // Serves requests on a connection until it must close (false) or waits idle (true).
  bool serve_connection(Connection& connection) {
    ConnectionStream& stream = *connection.stream;
    if (!connection.handshaken) {
      if (!stream.handshake(SteadyClock::now() + settings.read_timeout))
        return false;
      connection.handshaken = true;
    }
    for (;;) {
      RequestState state{&stream, std::nullopt, false};
      current_request = &state;
      stream.begin_request(SteadyClock::now() + settings.read_timeout);
      const bool last =
          stopping.load() || connection.requests + 1 >= settings.keep_alive_max_requests;
      bool connection_closed = false;
      const bool answered = engine->process(stream, last, connection_closed,
                                            [this](httplib::Request& req) { setup_request(req); });
      current_request = nullptr;
      ++connection.requests;
      if (!answered && stream.request_bytes() == 0)
        return false;  // closed (or idle past its deadline) before a new request began
      if (!answered) {
        // httplib gives up without a response when the request line cannot be read.
        if (auto cut = read_failure_outcome(stream.failure())) {
          observer.on_connection_cut(to_string(cut->code));
          const HttpResponse response = to_http(*cut);
          const std::string text =
              raw_response(response, response.status == 408 ? "Request Timeout"
                                                            : "Request Header Fields Too Large");
          stream.write(text.data(), text.size());
          observer.on_http_response("other", response.status);
        }
        stream.linger_close(kLingerOnClose);
        return false;
      }
      if (last || connection_closed || state.must_close || stopping.load()) {
        stream.linger_close(kLingerOnClose);
        return false;
      }
      // A pipelined request is served at once, so is one that follows within kNextRequestWait
      // while another worker is free; otherwise the connection waits idle at the poller.
      if (stopping.load() || idle_workers.load(std::memory_order_relaxed) == 0 ||
          !stream.wait_readable(kNextRequestWait))
        return true;
    }
  }

  void worker() {
    for (;;) {
      std::unique_ptr<Connection> connection;
      {
        std::unique_lock lock(mutex);
        idle_workers.fetch_add(1, std::memory_order_relaxed);
        work_ready.wait(lock, [&] { return workers_exit || !ready.empty(); });
        idle_workers.fetch_sub(1, std::memory_order_relaxed);
        if (ready.empty())
          return;
        connection = std::move(ready.front());
        ready.pop_front();
        active.insert(connection->stream.get());
      }
      const bool keep = serve_connection(*connection);
      bool parked = false;
      {
        std::lock_guard lock(mutex);
        active.erase(connection->stream.get());
        if (keep && !stopping.load()) {
          connection->idle_deadline = SteadyClock::now() + settings.keep_alive_timeout;
          returned.push_back(std::move(connection));
          parked = true;
        }
      }
      // Woken after the unlock, so the poller does not wake only to block on `mutex`.
      if (parked) {
        wake();
      } else {
        connection.reset();
        open_connections.fetch_sub(1);
      }
    }
  }

  // Answers 503 server_busy without reading the request, then closes. Poller thread.
  void refuse_busy(int fd, const char* reason) {
    static const std::string text =
        raw_response(to_http(rejection(OutcomeCode::kServerBusy,
                                       "every worker is busy or the connection limit is "
                                       "reached; retry shortly")),
                     "Service Unavailable");
    observer.on_connection_cut(reason);
    observer.on_http_response("other", 503);
    [[maybe_unused]] const auto sent =
        ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd, SHUT_WR);
    char discard[4096];
    for (int i = 0; i < 16 && ::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0; ++i) {
    }
    ::close(fd);
  }

  // A readable connection goes to a worker, or is refused when the queue is at its bound.
  void dispatch(std::unique_ptr<Connection> connection) {
    bool queued = false;
    {
      std::lock_guard lock(mutex);
      if (ready.size() < settings.threads) {
        ready.push_back(std::move(connection));
        queued = true;
      }
    }
    // Notified after the unlock: a worker woken under the lock would block on it at once.
    if (queued) {
      work_ready.notify_one();
      return;
    }
    // Hand the descriptor over to the refusal without closing it twice.
    ConnectionStream& stream = *connection->stream;
    const int fd = ::dup(stream.fd());
    connection.reset();
    open_connections.fetch_sub(1);
    if (fd >= 0)
      refuse_busy(fd, "busy");
  }

  SSL* new_tls_session(int fd) const {
    SSL_CTX* context = engine->tls_context();
    if (context == nullptr)
      return nullptr;
    SSL* ssl = SSL_new(context);
    SSL_set_fd(ssl, fd);
    return ssl;
  }

  // Accepts what the listener has queued. Poller thread.
  void accept_pending(int listener, std::vector<std::unique_ptr<Connection>>& parked) {
    for (;;) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;  // EAGAIN: the backlog is empty (EMFILE: retried on the next round)
      if (open_connections.load() >= settings.max_connections) {
        refuse_busy(fd, "connection_limit");
        continue;
      }
      int yes = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
      open_connections.fetch_add(1);
      auto connection = std::make_unique<Connection>();
      connection->stream = std::make_unique<ConnectionStream>(fd, new_tls_session(fd), limits());
      connection->idle_deadline = SteadyClock::now() + settings.read_timeout;
      parked.push_back(std::move(connection));
    }
  }

  // Stops accepting without resetting a connection the kernel already completed.
  void close_listener(std::vector<std::unique_ptr<Connection>>& parked) {
    const int listener = engine->listener();
    drop_new_syns(listener);
    const auto settled = SteadyClock::now() + kHandshakeSettle;
    while (SteadyClock::now() < settled) {
      accept_pending(listener, parked);
      pollfd entry{listener, POLLIN, 0};
      ::poll(&entry, 1, 10);
    }
    accept_pending(listener, parked);
    engine->forget_listener();
    ::close(listener);
    running.store(false);
  }

  // The poller: accepts, keeps idle connections, hands readable ones to workers, and drains.
  void poll_connections() {
    std::vector<std::unique_ptr<Connection>> parked;
    bool listening = true;
    std::optional<SteadyClock::time_point> drain_deadline;
    std::vector<pollfd> entries;
    for (;;) {
      {
        std::lock_guard lock(mutex);
        for (auto& connection : returned)
          parked.push_back(std::move(connection));
        returned.clear();
      }
      if (stopping.load() && listening) {
        close_listener(parked);
        listening = false;
        drain_deadline = SteadyClock::now() + settings.drain_timeout;
        // Kept-alive connections that sent nothing since their last answer are closed; fresh
        // ones (accepted from the backlog) stay until their request arrives or their deadline.
        std::erase_if(parked, [&](const std::unique_ptr<Connection>& connection) {
          if (connection->requests == 0 || connection->stream->is_readable())
            return false;
          open_connections.fetch_sub(1);
          return true;
        });
      }
      if (drain_deadline) {
        std::lock_guard lock(mutex);
        const bool idle = parked.empty() && ready.empty() && active.empty();
        if (idle)
          break;
        if (SteadyClock::now() >= *drain_deadline) {
          for (ConnectionStream* stream : active)
            stream->abort();
          open_connections.fetch_sub(parked.size());
          parked.clear();
          if (ready.empty() && active.empty())
            break;
        }
      }
      entries.clear();
      entries.push_back({wake_fd, POLLIN, 0});
      if (listening)
        entries.push_back({engine->listener(), POLLIN, 0});
      const std::size_t first_parked = entries.size();
      auto next_deadline = SteadyClock::now() + std::chrono::seconds(1);
      for (const auto& connection : parked) {
        entries.push_back({connection->stream->fd(), POLLIN, 0});
        next_deadline = std::min(next_deadline, connection->idle_deadline);
      }
      const auto wait =
          std::chrono::ceil<std::chrono::milliseconds>(next_deadline - SteadyClock::now());
      const int timeout = static_cast<int>(std::clamp<long long>(wait.count(), 0, 100));
      if (::poll(entries.data(), entries.size(), timeout) < 0 && errno != EINTR)
        continue;
      if (entries[0].revents != 0) {
        std::uint64_t count = 0;
        [[maybe_unused]] const auto drained = ::read(wake_fd, &count, sizeof count);
      }
      const auto now = SteadyClock::now();
      std::vector<std::unique_ptr<Connection>> still_parked;
      for (std::size_t i = 0; i < parked.size(); ++i) {
        if (entries[first_parked + i].revents != 0) {
          dispatch(std::move(parked[i]));
        } else if (now >= parked[i]->idle_deadline) {
          open_connections.fetch_sub(1);  // idle past its timeout: closed without an answer
        } else {
          still_parked.push_back(std::move(parked[i]));
        }
      }
      parked = std::move(still_parked);
      if (listening && entries[1].revents != 0)
        accept_pending(engine->listener(), parked);
    }
  }

  bool serve() {
    const int listener = engine->listener();
    if (listener < 0)
      return false;
    fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK);
    running.store(true);
    std::vector<std::thread> workers;
    for (std::size_t i = 0; i < std::max<std::size_t>(settings.threads, 1); ++i)
      workers.emplace_back([this] {
        name_this_thread("http-worker");
        worker();
      });
    poll_connections();
    {
      std::lock_guard lock(mutex);
      workers_exit = true;
    }
    work_ready.notify_all();
    for (auto& thread : workers)
      thread.join();
    running.store(false);
    return true;
  }
};

WebhookServer::WebhookServer(const IngestPipeline& pipeline, PipelineObserver& observer,
                             WebhookServerSettings settings, const SourceTable* sources)
    : impl_(std::make_unique<Impl>(pipeline, observer, settings, sources)) {
  auto& server = impl_->engine->server();
  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second process bind the same
  // port silently and steal half the traffic; a port in use must fail the start instead.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.set_payload_max_length(settings.max_body_bytes);
  server.set_keep_alive_timeout(settings.keep_alive_timeout.count());
  server.set_keep_alive_max_count(settings.keep_alive_max_requests);

  Impl* impl = impl_.get();
  server.Post(kWebhookRoute, [impl](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& content_reader) {
    impl->handle_webhook(req, res, content_reader);
  });
  // Runs after the headers, before any body byte: refusals that do not need the body.
  server.set_pre_routing_handler([impl](const httplib::Request& req, httplib::Response& res) {
    return impl->answer_refusal(req, res) ? httplib::Server::HandlerResponse::Handled
                                          : httplib::Server::HandlerResponse::Unhandled;
  });
  // A sender waiting for 100 Continue learns of a refusal before it sends the body.
  server.set_expect_100_continue_handler(
      [impl](const httplib::Request& req, httplib::Response& res) {
        return impl->answer_refusal(req, res) ? res.status : 100;
      });
  // Runs for every response >= 400, ours included: only complete what httplib left empty.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [impl](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        impl->complete_error(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_post_routing_handler([impl](const httplib::Request& req, httplib::Response& res) {
    impl->observer.on_http_response(is_webhook_path(req.path) ? "/webhooks" : "other", res.status);
  });
}

WebhookServer::~WebhookServer() {
  stop();
}

int WebhookServer::bind(const ListenAddress& address) {
  auto& server = impl_->engine->server();
  const int port = address.port == 0
                       ? server.bind_to_any_port(address.host)
                       : (server.bind_to_port(address.host, address.port) ? address.port : -1);
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of connects (many senders at once, or
  // keep-alive connections reconnecting together) overflows the accept queue, and those clients
  // see resets or 1-3 s SYN retransmits. Linux takes a second listen() on a listening socket as
  // the new backlog (capped by net.core.somaxconn).
  if (port >= 0)
    ::listen(impl_->engine->listener(), SOMAXCONN);
  return port;
}

bool WebhookServer::valid() const {
  return impl_->engine->server().is_valid();
}

bool WebhookServer::serve() {
  return impl_->serve();
}

bool WebhookServer::is_running() const {
  return impl_->running.load();
}

void WebhookServer::stop() {
  impl_->stopping.store(true);
  impl_->wake();
}

std::size_t WebhookServer::in_flight() const {
  return impl_->in_flight.load();
}

void WebhookServer::report_gauges(GaugeSink& sink) const {
  sink.set(Gauge::kHttpInFlight, static_cast<double>(in_flight()));
}

}  // namespace cmr_bridge
