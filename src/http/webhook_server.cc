#include "http/webhook_server.h"

#include <httplib.h>

#include <atomic>

#include "http/status_table.h"
#include "log/logger.h"

namespace cmr_bridge {
namespace {

constexpr const char* kWebhookPath = "/webhooks";
constexpr const char* kSignatureHeader = "cmr-x-signature";
constexpr const char* kTimestampHeader = "cmr-x-timestamp";

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

// CMR's content type is undocumented; only encodings that cannot carry its JSON body are
// refused, so a signed event is never lost over a header.
bool refused_content_type(const httplib::Request& req) {
  const auto type = req.get_header_value("Content-Type");
  std::string lower;
  for (char c : type)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower.rfind("multipart/", 0) == 0 ||
         lower.rfind("application/x-www-form-urlencoded", 0) == 0;
}

}  // namespace

struct WebhookServer::Impl {
  const IngestPipeline& pipeline;
  PipelineObserver& observer;
  WebhookServerSettings settings;
  // A plain httplib::Server, or an httplib::SSLServer when TLS files are configured.
  std::unique_ptr<httplib::Server> server_owner;
  httplib::Server& server;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<int> listen_fd{-1};  // the listening socket, to raise its backlog after bind

  Impl(const IngestPipeline& p, PipelineObserver& o, WebhookServerSettings s)
      : pipeline(p),
        observer(o),
        settings(s),
        server_owner(s.tls_cert_file.empty()
                         ? std::make_unique<httplib::Server>()
                         : std::make_unique<httplib::SSLServer>(s.tls_cert_file.c_str(),
                                                                s.tls_key_file.c_str())),
        server(*server_owner) {}

  // Records, logs and writes one outcome. Runs on the request's worker thread.
  void respond(httplib::Response& res, const Outcome& outcome,
               std::chrono::steady_clock::time_point started) {
    const auto latency = std::chrono::steady_clock::now() - started;
    observer.on_outcome(outcome, latency);
    const HttpResponse response = to_http(outcome);
    write(res, response);
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
              {"latency_ms", std::chrono::duration<double, std::milli>(latency).count()}});
  }

  void handle_webhook(const httplib::Request& req, httplib::Response& res) {
    const auto started = std::chrono::steady_clock::now();
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
    if (req.get_header_value_count(kSignatureHeader) > 1 ||
        req.get_header_value_count(kTimestampHeader) > 1) {
      respond(res,
              rejection(OutcomeCode::kDuplicateAuthHeader,
                        "cmr-x-signature and cmr-x-timestamp must each appear once"),
              started);
      return;
    }
    if (refused_content_type(req)) {
      respond(res, rejection(OutcomeCode::kUnsupportedMediaType, "the body must be JSON"), started);
      return;
    }
    const WebhookRequest request{header(req, kSignatureHeader), header(req, kTimestampHeader),
                                 req.body};
    respond(res, pipeline.handle(request), started);
  }

  // httplib answered by itself (no route, body too large, unparseable request): give the
  // response a JSON body and count it like any other refusal.
  void complete_error(const httplib::Request& req, httplib::Response& res) {
    Outcome outcome;
    if (res.status == 404 && req.path == kWebhookPath) {
      res.set_header("Allow", "POST");
      outcome = rejection(OutcomeCode::kMethodNotAllowed, "use POST for " + req.path);
    } else if (res.status == 404) {
      outcome =
          rejection(OutcomeCode::kNotFound, "no such endpoint; webhooks go to POST /webhooks");
    } else if (res.status == 413) {
      outcome = rejection(OutcomeCode::kPayloadTooLarge,
                          "body larger than " + std::to_string(settings.max_body_bytes) + " bytes");
    } else {
      outcome = rejection(OutcomeCode::kBadRequest, "malformed HTTP request");
    }
    if (req.path == kWebhookPath) {
      respond(res, outcome, std::chrono::steady_clock::now());
    } else {
      write(res, to_http(outcome));
    }
  }
};

WebhookServer::WebhookServer(const IngestPipeline& pipeline, PipelineObserver& observer,
                             WebhookServerSettings settings)
    : impl_(std::make_unique<Impl>(pipeline, observer, settings)) {
  auto& server = impl_->server;
  const std::size_t threads = settings.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // cpp-httplib 0.11 leaves Nagle on, which adds ~40 ms to every keep-alive response.
  server.set_tcp_nodelay(true);
  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second process bind the same
  // port silently and steal half the traffic; a port in use must fail the start instead.
  server.set_socket_options([impl = impl_.get()](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    impl->listen_fd.store(sock);
  });
  server.set_payload_max_length(settings.max_body_bytes);
  server.set_read_timeout(settings.read_timeout);
  server.set_write_timeout(settings.write_timeout);
  server.set_keep_alive_timeout(settings.keep_alive_timeout.count());
  server.set_keep_alive_max_count(settings.keep_alive_max_requests);

  Impl* impl = impl_.get();
  server.Post(kWebhookPath, [impl](const httplib::Request& req, httplib::Response& res) {
    impl->handle_webhook(req, res);
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
    impl->observer.on_http_response(req.path == kWebhookPath ? "/webhooks" : "other", res.status);
  });
}

WebhookServer::~WebhookServer() {
  stop();
}

int WebhookServer::bind(const ListenAddress& address) {
  const int port =
      address.port == 0
          ? impl_->server.bind_to_any_port(address.host)
          : (impl_->server.bind_to_port(address.host, address.port) ? address.port : -1);
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of connects (many senders at once, or
  // keep-alive connections reconnecting together) overflows the accept queue, and those clients
  // see resets or 1-3 s SYN retransmits. Linux takes a second listen() on a listening socket as
  // the new backlog (capped by net.core.somaxconn).
  if (port >= 0 && impl_->listen_fd.load() >= 0)
    ::listen(impl_->listen_fd.load(), SOMAXCONN);
  return port;
}

bool WebhookServer::valid() const {
  return impl_->server.is_valid();
}

bool WebhookServer::serve() {
  return impl_->server.listen_after_bind();
}

bool WebhookServer::is_running() const {
  return impl_->server.is_running();
}

void WebhookServer::stop() {
  impl_->server.stop();
}

std::size_t WebhookServer::in_flight() const {
  return impl_->in_flight.load();
}

}  // namespace cmr_bridge
