// The HTTP edge over the real pipeline with a fake publisher: status codes, JSON errors and
// headers as a sender sees them. Port 0, loopback only.
#include <doctest/doctest.h>
#include <httplib.h>

#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/pipeline.h"
#include "core/signature.h"
#include "http/admin_server.h"
#include "http/webhook_server.h"
#include "log/logger.h"
#include "metrics/prometheus_observer.h"
#include "support/fakes.h"
#include "support/samples.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;

namespace {

struct ServerFixture {
  FixedClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(1709942399))};
  FakePublisher publisher;
  PrometheusObserver metrics;
  TopicNames topics;
  RouteTable routes = RouteTable::defaults(topics);
  std::unique_ptr<SignatureVerifier> verifier =
      SignatureVerifier::create({kTestKey}, SignatureScheme::kAuto).value();
  ManualClock dedup_clock{std::chrono::system_clock::time_point(std::chrono::seconds(1709942399))};
  DedupCache dedup{{1000, std::chrono::hours(1)}, dedup_clock};
  IngestPipeline pipeline{PipelineSettings{},
                          {.verifier = *verifier,
                           .routes = routes,
                           .publisher = publisher,
                           .clock = clock,
                           .observer = metrics,
                           .dedup = &dedup}};
  WebhookServer server{pipeline, metrics, small_body_settings()};
  AdminServer admin{{{"fake", [this] { return ready.load(); }}},
                    {{"fake_liveness", [this] { return alive.load(); }}},
                    [this] { return metrics.scrape(); }};
  std::atomic<bool> ready{true};
  std::atomic<bool> alive{true};
  int port = -1;
  int admin_port = -1;
  std::thread thread;
  std::thread admin_thread;

  static WebhookServerSettings small_body_settings(AccessLog access_log = AccessLog::kAll) {
    WebhookServerSettings settings;
    settings.access_log = access_log;
    settings.max_body_bytes = 64 * 1024;
    settings.threads = 4;
    return settings;
  }

  explicit ServerFixture(WebhookServerSettings settings = small_body_settings())
      : server{pipeline, metrics, std::move(settings)} {
    set_log_fd(-1);
    port = server.bind({"127.0.0.1", 0});
    admin_port = admin.bind({"127.0.0.1", 0});
    REQUIRE(port > 0);
    REQUIRE(admin_port > 0);
    thread = std::thread([this] { server.serve(); });
    admin_thread = std::thread([this] { admin.serve(); });
    while (!server.is_running() || !admin.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~ServerFixture() {
    server.stop();
    admin.stop();
    thread.join();
    admin_thread.join();
    set_log_fd(1);
  }

  httplib::Result post(const std::string& body, httplib::Headers headers,
                       const char* content_type = "application/json") {
    httplib::Client client("127.0.0.1", port);
    return client.Post("/webhooks", headers, body, content_type);
  }
  httplib::Result post_signed(const std::string& body) {
    return post(body, {{"cmr-x-timestamp", kTestTimestamp},
                       {"cmr-x-signature", compute_signature(kTestKey, SignatureScheme::kBodyHex,
                                                             kTestTimestamp, body)}});
  }
};

// Reads what the server logs while it lives: the log goes to a temporary file, read back by
// lines() on the test's thread after the answers it is asked about have arrived.
struct LogFile {
  std::FILE* file = std::tmpfile();
  LogFile() { set_log_fd(::fileno(file)); }
  ~LogFile() {
    set_log_fd(-1);
    std::fclose(file);
  }
  std::vector<std::string> lines_with(std::string_view needle) const {
    std::vector<std::string> found;
    std::rewind(file);
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, file))
      if (std::string_view(buffer).find(needle) != std::string_view::npos)
        found.emplace_back(buffer);
    return found;
  }
};

struct AccessLogFixture {
  explicit AccessLogFixture(AccessLog mode) : server(ServerFixture::small_body_settings(mode)) {
    log.emplace();  // after the fixture's constructor, which silences the log
  }
  ServerFixture server;
  std::optional<LogFile> log;

  // One accepted (200) and one refused (401) request; returns their access-log lines.
  std::vector<std::string> accepted_and_refused() {
    const auto accepted = server.post_signed(kDomainOrderSuccess);
    const auto refused = server.post(kDomainOrderSuccess, {{"cmr-x-timestamp", kTestTimestamp},
                                                           {"cmr-x-signature", kBodyHexOtherKey}});
    REQUIRE(accepted);
    REQUIRE(refused);
    CHECK(accepted->status == 200);
    CHECK(refused->status == 401);
    return log->lines_with(R"("msg":"webhook")");
  }
};

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("the access log has a line per answered request by default") {
    AccessLogFixture fixture(AccessLog::kAll);
    const auto lines = fixture.accepted_and_refused();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find(R"("outcome":"accepted")") != std::string::npos);
    CHECK(lines[1].find(R"("status":401)") != std::string::npos);
  }

  TEST_CASE("CMR_BRIDGE_ACCESS_LOG=failures logs only the answers other than 2xx") {
    AccessLogFixture fixture(AccessLog::kFailures);
    const auto lines = fixture.accepted_and_refused();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(R"("status":401)") != std::string::npos);
    CHECK(fixture.server.publisher.count() == 1);
  }

  TEST_CASE("CMR_BRIDGE_ACCESS_LOG=off logs no request, and the metrics still count both") {
    AccessLogFixture fixture(AccessLog::kOff);
    CHECK(fixture.accepted_and_refused().empty());
    const std::string scrape = fixture.server.metrics.scrape();
    for (const char* status : {"200", "401"}) {
      CAPTURE(status);
      CHECK(
          scrape.find(std::string(R"(cmr_bridge_http_requests_total{route="/webhooks",status=")") +
                      status + "\"} 1") != std::string::npos);
    }
  }

  TEST_CASE_FIXTURE(ServerFixture, "a signed webhook answers 200 accepted with its eventId") {
    const auto res = post_signed(kDomainOrderSuccess);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "application/json");
    CHECK(res->body == R"({"status":"accepted","eventId":"6SSHBXWR3N4JEKGRQSG3KW3D76N6"})");
    CHECK(publisher.count() == 1);
  }

  TEST_CASE_FIXTURE(ServerFixture, "a wrong signature answers 401 with a JSON error code") {
    const auto res = post(kDomainOrderSuccess, {{"cmr-x-timestamp", kTestTimestamp},
                                                {"cmr-x-signature", kBodyHexOtherKey}});
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK(res->body.find(R"("error":"signature_mismatch")") != std::string::npos);
    CHECK(publisher.count() == 0);
  }

  TEST_CASE_FIXTURE(ServerFixture, "Kafka not acking answers 503 with Retry-After") {
    publisher.next_status = DeliveryStatus::kTimedOut;
    const auto res = post_signed(kDomainOrderSuccess);
    REQUIRE(res);
    CHECK(res->status == 503);
    CHECK(res->get_header_value("Retry-After") == "5");
    CHECK(res->body.find(R"("error":"delivery_timeout")") != std::string::npos);
  }

  TEST_CASE_FIXTURE(ServerFixture, "a signed but unparseable body is dead-lettered with 200") {
    const auto res = post_signed("{oops");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == R"({"status":"dead_lettered","reason":"invalid_json"})");
  }

  TEST_CASE_FIXTURE(
      ServerFixture,
      "a captured timestamp-body signature replayed as body-only over T.body is 401") {
    const std::string captured_timestamp = "1709900000";  // far outside the window
    const std::string captured = compute_signature(kTestKey, SignatureScheme::kTimestampBodyHex,
                                                   captured_timestamp, kDomainOrderSuccess);
    const auto res = post(captured_timestamp + "." + kDomainOrderSuccess,
                          {{"cmr-x-timestamp", kTestTimestamp}, {"cmr-x-signature", captured}});
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK(res->body.find(R"("error":"signature_mismatch")") != std::string::npos);
    CHECK(publisher.count() == 0);
  }

  TEST_CASE_FIXTURE(ServerFixture, "duplicate auth headers are refused") {
    httplib::Headers headers = {{"cmr-x-timestamp", kTestTimestamp},
                                {"cmr-x-signature", kBodyHex},
                                {"cmr-x-signature", kBodyHexOtherKey}};
    const auto res = post(kDomainOrderSuccess, headers);
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK(res->body.find("duplicate_auth_header") != std::string::npos);
    CHECK(publisher.count() == 0);
  }

  TEST_CASE_FIXTURE(ServerFixture, "admission errors: body cap, method, path, content type") {
    const auto too_big = post_signed(std::string(64 * 1024 + 1, 'x'));
    REQUIRE(too_big);
    CHECK(too_big->status == 413);
    CHECK(too_big->body.find("payload_too_large") != std::string::npos);

    httplib::Client client("127.0.0.1", port);
    const auto get = client.Get("/webhooks");
    REQUIRE(get);
    CHECK(get->status == 405);
    CHECK(get->get_header_value("Allow") == "POST");
    CHECK(get->body.find("method_not_allowed") != std::string::npos);

    const auto elsewhere = client.Post("/hooks", "{}", "application/json");
    REQUIRE(elsewhere);
    CHECK(elsewhere->status == 404);
    CHECK(elsewhere->body.find("not_found") != std::string::npos);

    const auto form =
        post("a=b", {{"cmr-x-timestamp", kTestTimestamp}, {"cmr-x-signature", kBodyHex}},
             "application/x-www-form-urlencoded");
    REQUIRE(form);
    CHECK(form->status == 415);
    CHECK(publisher.count() == 0);
  }

  TEST_CASE_FIXTURE(ServerFixture, "a missing content type is tolerated") {
    const std::string body = kDomainOrderSuccess;
    const auto res =
        post(body, {{"cmr-x-timestamp", kTestTimestamp}, {"cmr-x-signature", kBodyHex}}, "");
    REQUIRE(res);
    CHECK(res->status == 200);
  }

  TEST_CASE_FIXTURE(ServerFixture, "keep-alive connections serve many requests") {
    httplib::Client client("127.0.0.1", port);
    client.set_keep_alive(true);
    for (int i = 0; i < 20; ++i) {
      const std::string body = R"({"event":"mailbox.created","eventId":"KA)" + std::to_string(i) +
                               R"(","data":{"orderId":"O1","mailboxId":"M"}})";
      const auto res = client.Post(
          "/webhooks",
          {{"cmr-x-timestamp", kTestTimestamp},
           {"cmr-x-signature",
            compute_signature(kTestKey, SignatureScheme::kBodyHex, kTestTimestamp, body)}},
          body, "application/json");
      REQUIRE(res);
      CHECK(res->status == 200);
    }
    CHECK(publisher.count() == 20);
  }

  TEST_CASE_FIXTURE(ServerFixture,
                    "a retried delivery answers 200 duplicate without a second record") {
    const auto first = post_signed(kDomainOrderSuccess);
    REQUIRE(first);
    REQUIRE(first->status == 200);
    const auto retry = post_signed(kDomainOrderSuccess);
    REQUIRE(retry);
    CHECK(retry->status == 200);
    CHECK(retry->body == R"({"status":"duplicate","eventId":"6SSHBXWR3N4JEKGRQSG3KW3D76N6"})");
    CHECK(publisher.count() == 1);
  }

  TEST_CASE_FIXTURE(ServerFixture,
                    "admin: healthz and readyz follow their checks, metrics count outcomes") {
    post_signed(kDomainOrderSuccess);
    httplib::Client client("127.0.0.1", admin_port);
    auto health = client.Get("/healthz");
    REQUIRE(health);
    CHECK(health->status == 200);
    CHECK(health->body == R"({"status":"ok","checks":{"fake_liveness":true}})");
    alive = false;
    health = client.Get("/healthz");
    REQUIRE(health);
    CHECK(health->status == 503);
    CHECK(health->body == R"({"status":"failing","checks":{"fake_liveness":false}})");
    auto readyz = client.Get("/readyz");
    REQUIRE(readyz);
    CHECK(readyz->status == 200);
    CHECK(readyz->body == R"({"status":"ready","checks":{"fake":true}})");
    ready = false;
    readyz = client.Get("/readyz");
    REQUIRE(readyz);
    CHECK(readyz->status == 503);
    const auto scrape = client.Get("/metrics");
    REQUIRE(scrape);
    CHECK(scrape->status == 200);
    CHECK(
        scrape->body.find(
            R"(cmr_bridge_webhook_outcomes_total{outcome="accepted",reason="none",source="cmr"} 1)") !=
        std::string::npos);
    CHECK(scrape->body.find(
              R"(cmr_bridge_signature_matches_total{scheme="body-hex",source="cmr"} 1)") !=
          std::string::npos);
    CHECK(
        scrape->body.find(R"(cmr_bridge_http_requests_total{route="/webhooks",status="200"} 1)") !=
        std::string::npos);
  }
}
