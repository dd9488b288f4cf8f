#include "http/admin_server.h"

#include <httplib.h>

#include "core/json_writer.h"

namespace cmr_bridge {

namespace {

// Answers `checks`: 200 with `ok_word` when every required one holds, else 503 with
// `failing_word`; the body names each check with its state.
void answer_checks(const std::vector<ReadinessCheck>& checks, const char* ok_word,
                   const char* failing_word, httplib::Response& res) {
  bool all = true;
  std::string check_json = "{";
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const bool holds = checks[i].ready();
    all = all && (holds || !checks[i].required);
    if (i > 0)
      check_json += ",";
    check_json += "\"" + checks[i].name + "\":" + (holds ? "true" : "false");
  }
  check_json += "}";
  res.status = all ? 200 : 503;
  res.set_content(JsonObjectWriter()
                      .field("status", all ? ok_word : failing_word)
                      .raw_field("checks", check_json)
                      .finish(),
                  "application/json");
}

}  // namespace

struct AdminServer::Impl {
  std::vector<ReadinessCheck> checks;
  std::vector<ReadinessCheck> liveness;
  std::function<std::string()> metrics;
  httplib::Server server;
};

AdminServer::AdminServer(std::vector<ReadinessCheck> checks, std::vector<ReadinessCheck> liveness,
                         std::function<std::string()> metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->checks = std::move(checks);
  impl_->liveness = std::move(liveness);
  impl_->metrics = std::move(metrics);
  auto& server = impl_->server;
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  server.set_tcp_nodelay(true);
  server.set_socket_options([](socket_t sock) {  // no SO_REUSEPORT: see webhook_server.cc
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.set_payload_max_length(4096);
  server.set_read_timeout(std::chrono::seconds(5));
  server.set_write_timeout(std::chrono::seconds(5));

  Impl* impl = impl_.get();
  server.Get("/healthz", [impl](const httplib::Request&, httplib::Response& res) {
    answer_checks(impl->liveness, "ok", "failing", res);
  });
  server.Get("/readyz", [impl](const httplib::Request&, httplib::Response& res) {
    answer_checks(impl->checks, "ready", "not_ready", res);
  });
  server.Get("/metrics", [impl](const httplib::Request&, httplib::Response& res) {
    res.set_content(impl->metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        res.set_content(JsonObjectWriter()
                            .field("error", res.status == 404 ? "not_found" : "bad_request")
                            .field("message", "admin endpoints: GET /healthz, /readyz, /metrics")
                            .finish(),
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
}

AdminServer::~AdminServer() {
  stop();
}

int AdminServer::bind(const ListenAddress& address) {
  if (address.port == 0)
    return impl_->server.bind_to_any_port(address.host);
  return impl_->server.bind_to_port(address.host, address.port) ? address.port : -1;
}

bool AdminServer::serve() {
  return impl_->server.listen_after_bind();
}
bool AdminServer::is_running() const {
  return impl_->server.is_running();
}
void AdminServer::stop() {
  impl_->server.stop();
}

}  // namespace cmr_bridge
