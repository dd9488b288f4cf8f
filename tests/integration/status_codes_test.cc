// The refusals a sender can only meet while Kafka is slow, failing or away, over HTTP: 409
// event_in_flight, 429 overloaded, and the 503 codes other than delivery_timeout. The bridge is
// built as serve builds it (src/app) from its settings, with the Kafka producer replaced by a
// double that holds or fails each publish as the test says: a healthy broker cannot be made
// to hold one record, or refuse one, on cue. Two codes need doubles further in, named at their
// cases: spool_unavailable (a spool the disk refuses) and internal_error (a credential the
// bridge cannot encrypt); neither can be provoked from outside a running bridge.
#include <doctest/doctest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "app/bridge.h"
#include "app/startup.h"
#include "core/signature.h"
#include "log/logger.h"
#include "metrics/prometheus_observer.h"
#include "support/examples.h"
#include "support/fakes.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Waits for events the test caused (a publish reaching the double); never the measure of a
// promise, only how long a broken build may take to fail instead of hanging.
constexpr auto kGenerousBound = 20s;

// "<error>" of a JSON error answer, or what came instead (so one missing answer fails one check).
std::string error_code(const httplib::Result& res) {
  if (!res)
    return "<no answer: " + httplib::to_string(res.error()) + ">";
  const auto at = res->body.find(R"("error":")");
  if (at == std::string::npos)
    return "<no error in " + std::to_string(res->status) + " " + res->body + ">";
  const auto start = at + 9;
  return res->body.substr(start, res->body.find('"', start) - start);
}

// The documented domain.order.success example under another eventId, with an extra `note`
// field (the schema allows extra fields) to give it the size the test needs.
std::string order_body(const std::string& event_id, const std::string& note = "") {
  std::string body = kDomainOrderSuccess;
  const std::string documented_id = "6SSHBXWR3N4JEKGRQSG3KW3D76N6";
  body.replace(body.find(documented_id), documented_id.size(), event_id);
  const std::string data = R"("data":{)";
  body.insert(body.find(data) + data.size(), R"("note":")" + note + R"(",)");
  return body;
}

std::map<std::string, std::string> serve_environment(std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> env = {
      {"CMR_BRIDGE_SIGNING_KEYS", kTestKey},
      {"CMR_BRIDGE_LISTEN", "127.0.0.1:0"},
      {"CMR_BRIDGE_ADMIN_LISTEN", "127.0.0.1:0"},
      {"CMR_BRIDGE_SCHEMA_DIR", CMR_BRIDGE_SOURCE_SCHEMA_DIR}};
  for (auto& [name, value] : extra)
    env[name] = std::move(value);
  return env;
}

// The bridge serve builds, from `env`, over `publisher`.
struct ServedBridge {
  std::unique_ptr<Bridge> bridge;
  int port = -1;

  ServedBridge(std::map<std::string, std::string> env, std::unique_ptr<Publisher> publisher) {
    set_log_fd(-1);
    auto state = load_startup_state("cmr-bridge", serve_environment(std::move(env)));
    REQUIRE_MESSAGE(state, (state ? "" : state.error().message()));
    BridgeOptions options;
    options.publisher = std::move(publisher);
    auto built = Bridge::build(std::move(*state), std::move(options));
    REQUIRE_MESSAGE(built, (built ? "" : built.error().message()));
    bridge = std::move(built).value();
    const auto ports = bridge->listen();
    REQUIRE(ports);
    port = ports->webhook;
  }
  ~ServedBridge() {
    bridge->shutdown();
    bridge.reset();
    set_log_fd(1);
  }
};

// One webhook listener over a pipeline whose spool or credential policy the test supplies; the
// rest derived from `env` as serve derives it (src/app/startup.h).
struct PipelineServer {
  StartupState state;
  std::unique_ptr<SignatureVerifier> verifier;
  PrometheusObserver metrics;
  SystemClock clock;
  FakePublisher publisher;
  std::unique_ptr<IngestPipeline> pipeline;
  std::unique_ptr<WebhookServer> server;
  std::thread thread;
  int port = -1;

  PipelineServer(std::map<std::string, std::string> env, Spool* spool,
                 const std::function<void(PipelineSettings&)>& adjust = {}) {
    set_log_fd(-1);
    auto loaded = load_startup_state("cmr-bridge", serve_environment(std::move(env)));
    REQUIRE(loaded);
    state = std::move(*loaded);
    verifier = std::move(create_verifier(state.config)).value();
    PipelineSettings settings = pipeline_settings_for(state);
    if (adjust)
      adjust(settings);
    pipeline =
        std::make_unique<IngestPipeline>(settings, PipelineParts{.verifier = *verifier,
                                                                 .routes = *state.routes,
                                                                 .schemas = state.schemas.get(),
                                                                 .publisher = publisher,
                                                                 .clock = clock,
                                                                 .observer = metrics,
                                                                 .spool = spool});
    server =
        std::make_unique<WebhookServer>(*pipeline, metrics, webhook_settings_for(state.config));
    port = server->bind({"127.0.0.1", 0});
    REQUIRE(port > 0);
    thread = std::thread([this] { server->serve(); });
    while (!server->is_running())
      std::this_thread::sleep_for(1ms);
  }
  ~PipelineServer() {
    server->stop();
    thread.join();
    set_log_fd(1);
  }
};

}  // namespace

TEST_SUITE("status codes") {
  TEST_CASE("a request for an eventId another request is publishing answers 409 event_in_flight") {
    auto gated = std::make_unique<GatedPublisher>();
    GatedPublisher& kafka = *gated;
    ServedBridge served({{"CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "100"}}, std::move(gated));
    const std::string body = order_body("INFLIGHT1");
    auto first = std::async(std::launch::async, [&] { return post_signed(served.port, body); });
    REQUIRE(kafka.wait_publishes(1, kGenerousBound));

    // The first publish is held; the retry waits out the delivery timeout, then is told to
    // come back instead of publishing a second copy.
    const auto retry = post_signed(served.port, body);
    CHECK(error_code(retry) == "event_in_flight");
    REQUIRE(retry);
    CHECK(retry->status == 409);
    CHECK(retry->get_header_value("Retry-After") == "5");
    CHECK(kafka.count() == 1);

    kafka.open();
    const auto answered = first.get();
    REQUIRE(answered);
    CHECK(answered->status == 200);
    CHECK(answered->body.find(R"("status":"accepted")") != std::string::npos);
    const auto later = post_signed(served.port, body);
    REQUIRE(later);
    CHECK(later->status == 200);
    CHECK(later->body.find(R"("status":"duplicate")") != std::string::npos);
    CHECK(kafka.count() == 1);
  }

  TEST_CASE("a request beyond CMR_BRIDGE_MAX_IN_FLIGHT answers 429 overloaded, Retry-After: 1") {
    auto gated = std::make_unique<GatedPublisher>();
    GatedPublisher& kafka = *gated;
    ServedBridge served({{"CMR_BRIDGE_MAX_IN_FLIGHT", "1"}}, std::move(gated));
    auto first = std::async(std::launch::async,
                            [&] { return post_signed(served.port, order_body("HELD1")); });
    REQUIRE(kafka.wait_publishes(1, kGenerousBound));

    const auto refused = post_signed(served.port, order_body("REFUSED1"));
    CHECK(error_code(refused) == "overloaded");
    REQUIRE(refused);
    CHECK(refused->status == 429);
    CHECK(refused->get_header_value("Retry-After") == "1");
    CHECK(kafka.count() == 1);

    kafka.open();
    const auto held = first.get();
    REQUIRE(held);
    CHECK(held->status == 200);
    const auto retried = post_signed(served.port, order_body("REFUSED1"));
    REQUIRE(retried);
    CHECK(retried->status == 200);
    CHECK(kafka.count() == 2);
  }

  TEST_CASE("Kafka failing a record answers 503 delivery_failed; the retry is published later") {
    auto gated = std::make_unique<GatedPublisher>();
    GatedPublisher& kafka = *gated;
    kafka.open(DeliveryStatus::kFailed);
    ServedBridge served({}, std::move(gated));
    const std::string body = order_body("FAILED1");
    const auto failed = post_signed(served.port, body);
    CHECK(error_code(failed) == "delivery_failed");
    REQUIRE(failed);
    CHECK(failed->status == 503);
    CHECK(failed->get_header_value("Retry-After") == "5");

    kafka.open(DeliveryStatus::kDelivered);
    const auto retried = post_signed(served.port, body);
    REQUIRE(retried);
    CHECK(retried->status == 200);
    CHECK(retried->body.find(R"("status":"accepted")") != std::string::npos);
  }

  TEST_CASE("a full producer queue answers 503 producer_queue_full") {
    auto gated = std::make_unique<GatedPublisher>();
    gated->open(DeliveryStatus::kQueueFull);
    ServedBridge served({}, std::move(gated));
    const auto full = post_signed(served.port, order_body("QUEUEFULL1"));
    CHECK(error_code(full) == "producer_queue_full");
    REQUIRE(full);
    CHECK(full->status == 503);
    CHECK(full->get_header_value("Retry-After") == "5");
  }

  TEST_CASE("with Kafka away, requests are spooled until the spool is full, then 503 spool_full") {
    const fs::path dir =
        fs::temp_directory_path() / ("cmr-status-spool-" + std::to_string(getpid()));
    fs::remove_all(dir);
    auto gated = std::make_unique<GatedPublisher>();
    gated->open(DeliveryStatus::kTimedOut);
    int spooled = 0;
    std::vector<std::string> after_first_refusal;
    {
      ServedBridge served({{"CMR_BRIDGE_SPOOL_DIR", dir.string()},
                           {"CMR_BRIDGE_SPOOL_MAX_BYTES", "1048576"},
                           {"CMR_BRIDGE_SPOOL_DRAIN_S", "0"}},
                          std::move(gated));
      // 200 KiB bodies: the 1 MiB spool holds a handful, then refuses.
      const std::string padding(200 * 1024, 'p');
      bool refused = false;
      for (int i = 0; i < 12; ++i) {
        const auto res = post_signed(served.port, order_body("SPOOL" + std::to_string(i), padding));
        REQUIRE(res);
        if (!refused && res->status == 200) {
          CHECK(res->body.find(R"("spooled":true)") != std::string::npos);
          ++spooled;
          continue;
        }
        if (!refused) {
          CHECK(res->get_header_value("Retry-After") == "5");
          refused = true;
        }
        after_first_refusal.push_back(std::to_string(res->status) + " " + error_code(res));
      }
    }
    fs::remove_all(dir);
    CHECK(spooled >= 1);  // precondition: the spool path ran
    REQUIRE_FALSE(after_first_refusal.empty());
    for (const auto& answer : after_first_refusal)
      CHECK(answer == "503 spool_full");
  }

  TEST_CASE("with Kafka away and a spool the disk refuses, the answer is 503 spool_unavailable") {
    // Double: a spool whose append fails (the disk refusing the write or the fsync cannot be
    // caused from outside the process; src/spool's own tests cover how FileSpool gets there).
    FakeSpool spool;
    spool.result = SpoolAppendResult::kFailed;
    PipelineServer served({}, &spool);
    served.publisher.next_status = DeliveryStatus::kTimedOut;
    const auto refused = post_signed(served.port, order_body("SPOOLFAIL1"));
    CHECK(error_code(refused) == "spool_unavailable");
    REQUIRE(refused);
    CHECK(refused->status == 503);
    CHECK(refused->get_header_value("Retry-After") == "5");
    CHECK(served.publisher.count() == 1);
  }

  TEST_CASE("a credential that cannot be encrypted answers 503 internal_error, nothing published") {
    // Double: a credential policy that says "encrypt" with no key. The settings refuse to start
    // so (CMR_BRIDGE_ENCRYPTION_KEYS is required), and AES-GCM does not fail on a valid key,
    // so this is the one way to reach the pipeline's "record could not be prepared" branch.
    PipelineServer served({}, nullptr, [](PipelineSettings& settings) {
      settings.credentials.mode = CredentialMode::kEncrypt;
      settings.credentials.keys.clear();
    });
    const auto failed = post_signed(served.port, documented_example("mailbox.created"));
    CHECK(error_code(failed) == "internal_error");
    REQUIRE(failed);
    CHECK(failed->status == 503);
    CHECK(failed->get_header_value("Retry-After") == "5");
    CHECK(served.publisher.count() == 0);
  }
}
