// The composition root as serve builds it (src/app/bridge.h), with the publisher swapped for a
// fake: listeners, readiness, gauges reported by the components themselves, draining and the
// shutdown order. And the gauge registration of the Prometheus observer on its own.
#include "app/bridge.h"

#include <doctest/doctest.h>
#include <httplib.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "core/signature.h"
#include "log/logger.h"
#include "metrics/prometheus_observer.h"
#include "support/fakes.h"
#include "support/samples.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;

namespace {

class FixedGauges final : public GaugeSource {
 public:
  void report_gauges(GaugeSink& sink) const override {
    ++reports;
    sink.set(Gauge::kSpoolRecords, 7);
    sink.set(Gauge::kKafkaReachable, 1);
  }
  mutable int reports = 0;
};

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

std::map<std::string, std::string> serve_environment() {
  return {{"CMR_BRIDGE_SIGNING_KEYS", kTestKey},
          {"CMR_BRIDGE_LISTEN", "127.0.0.1:0"},
          {"CMR_BRIDGE_ADMIN_LISTEN", "127.0.0.1:0"},
          {"CMR_BRIDGE_SCHEMA_DIR", CMR_BRIDGE_SOURCE_SCHEMA_DIR}};
}

}  // namespace

TEST_SUITE("bridge") {
  TEST_CASE("gauges read 0 until a source reports them, and stop being read when it leaves") {
    PrometheusObserver metrics;
    CHECK(has_line(metrics.scrape(), "cmr_bridge_spool_records 0"));
    FixedGauges source;
    {
      const auto registration = metrics.add_gauge_source(source);
      const std::string scrape = metrics.scrape();
      CHECK(has_line(scrape, "cmr_bridge_spool_records 7"));
      CHECK(has_line(scrape, "cmr_bridge_kafka_reachable 1"));
      CHECK(has_line(scrape, "cmr_bridge_dedup_entries 0"));
      CHECK(source.reports == 1);
    }
    metrics.scrape();
    CHECK(source.reports == 1);
  }

  TEST_CASE("the bridge serve builds answers webhooks, probes and scrapes, then drains and stops") {
    set_log_fd(-1);
    auto state = load_startup_state("cmr-bridge", serve_environment());
    REQUIRE(state);
    auto publisher = std::make_unique<FakePublisher>();
    FakePublisher& published = *publisher;
    BridgeOptions options;
    options.publisher = std::move(publisher);
    auto built = Bridge::build(std::move(*state), std::move(options));
    REQUIRE(built);
    Bridge& bridge = **built;
    CHECK(bridge.kafka_publisher() == nullptr);
    const auto ports = bridge.listen();
    REQUIRE(ports);
    httplib::Client webhook("127.0.0.1", ports->webhook);
    httplib::Client admin("127.0.0.1", ports->admin);

    const auto ready = admin.Get("/readyz");
    REQUIRE(ready);
    CHECK(ready->status == 200);
    CHECK(ready->body == R"({"status":"ready","checks":{"dedup":true,"not_draining":true}})");

    const std::string timestamp =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
    const httplib::Headers headers = {
        {"cmr-x-timestamp", timestamp},
        {"cmr-x-signature",
         compute_signature(kTestKey, SignatureScheme::kBodyHex, timestamp, kDomainOrderSuccess)}};
    const auto accepted =
        webhook.Post("/webhooks", headers, kDomainOrderSuccess, "application/json");
    REQUIRE(accepted);
    CHECK(accepted->status == 200);
    CHECK(published.count() == 1);

    const auto scrape = admin.Get("/metrics");
    REQUIRE(scrape);
    CHECK(has_line(scrape->body, "cmr_bridge_dedup_entries 1"));
    CHECK(has_line(scrape->body, "cmr_bridge_http_in_flight_requests 0"));
    CHECK(has_line(scrape->body, "cmr_bridge_kafka_reachable 0"));

    bridge.begin_draining();
    const auto draining = admin.Get("/readyz");
    REQUIRE(draining);
    CHECK(draining->status == 503);

    CHECK(bridge.shutdown());
    webhook.set_connection_timeout(std::chrono::seconds(1));
    CHECK_FALSE(webhook.Get("/healthz"));
    CHECK_FALSE(admin.Get("/healthz"));
    set_log_fd(1);
  }

  TEST_CASE(
      "/metrics scraped without pause while the bridge shuts down and is destroyed: every "
      "answer is whole, then the listener is gone (TSan covers the component teardown)") {
    set_log_fd(-1);
    char templ[] = "/tmp/cmr-bridge-shutdown-scrape-XXXXXX";
    const std::string spool_dir = mkdtemp(templ);
    auto environment = serve_environment();
    environment["CMR_BRIDGE_SPOOL_DIR"] = spool_dir;
    auto state = load_startup_state("cmr-bridge", environment);
    REQUIRE(state);
    BridgeOptions options;
    options.publisher = std::make_unique<FakePublisher>();
    auto built = Bridge::build(std::move(*state), std::move(options));
    REQUIRE(built);
    std::unique_ptr<Bridge> bridge = std::move(built).value();
    const auto ports = bridge->listen();
    REQUIRE(ports);

    std::atomic<bool> stop{false};
    std::atomic<int> whole{0};
    std::atomic<int> partial{0};
    std::thread scraper([&] {
      httplib::Client admin("127.0.0.1", ports->admin);
      admin.set_connection_timeout(std::chrono::milliseconds(200));
      while (!stop.load()) {
        const auto scrape = admin.Get("/metrics");
        if (!scrape)
          continue;
        const bool complete =
            scrape->status == 200 &&
            scrape->body.find("cmr_bridge_spool_forwarder_errors ") != std::string::npos &&
            scrape->body.find("cmr_bridge_build_info") != std::string::npos;
        (complete ? whole : partial).fetch_add(1);
      }
    });
    while (whole.load() < 20)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(bridge->shutdown());
    bridge.reset();
    stop.store(true);
    scraper.join();
    CHECK(whole.load() >= 20);
    CHECK(partial.load() == 0);
    std::filesystem::remove_all(spool_dir);
    set_log_fd(1);
  }

  TEST_CASE("a build error names the setting at fault") {
    auto environment = serve_environment();
    environment["CMR_BRIDGE_SPOOL_DIR"] = "/proc/cmr-bridge-spool";
    auto state = load_startup_state("cmr-bridge", environment);
    REQUIRE(state);
    BridgeOptions options;
    options.publisher = std::make_unique<FakePublisher>();
    const auto built = Bridge::build(std::move(*state), std::move(options));
    REQUIRE_FALSE(built);
    CHECK(built.error().message().rfind("CMR_BRIDGE_SPOOL_DIR: ", 0) == 0);
  }
}
