// Native TLS on the webhook listener, with a throw-away self-signed certificate (openssl CLI).
#include <doctest/doctest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "core/pipeline.h"
#include "core/signature.h"
#include "http/webhook_server.h"
#include "log/logger.h"
#include "support/fakes.h"
#include "support/samples.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
namespace fs = std::filesystem;

TEST_SUITE("tls") {
  TEST_CASE("with a certificate and key the webhook listener serves HTTPS only") {
    const fs::path dir = fs::temp_directory_path() / ("cmr-tls-" + std::to_string(getpid()));
    fs::create_directories(dir);
    const std::string cert = (dir / "cert.pem").string();
    const std::string key = (dir / "key.pem").string();
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 -keyout '" + key +
        "' -out '" + cert + "' >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);

    set_log_fd(-1);
    FixedClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(1709942399))};
    FakePublisher publisher;
    NullObserver observer;
    const auto routes = RouteTable::defaults(TopicNames{});
    const auto verifier = SignatureVerifier::create({kTestKey}, SignatureScheme::kAuto).value();
    const IngestPipeline pipeline(PipelineSettings{}, {.verifier = *verifier,
                                                       .routes = routes,
                                                       .publisher = publisher,
                                                       .clock = clock,
                                                       .observer = observer});
    WebhookServerSettings settings;
    settings.threads = 4;
    settings.tls_cert_file = cert;
    settings.tls_key_file = key;
    WebhookServer server(pipeline, observer, settings);
    REQUIRE(server.valid());
    const int port = server.bind({"127.0.0.1", 0});
    REQUIRE(port > 0);
    std::thread thread([&] { server.serve(); });
    while (!server.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));

    httplib::SSLClient tls("127.0.0.1", port);
    tls.enable_server_certificate_verification(false);
    const auto res =
        tls.Post("/webhooks", {{"cmr-x-timestamp", kTestTimestamp}, {"cmr-x-signature", kBodyHex}},
                 kDomainOrderSuccess, "application/json");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(publisher.count() == 1);

    httplib::Client plain("127.0.0.1", port);
    plain.set_read_timeout(std::chrono::seconds(2));
    const auto refused = plain.Post("/webhooks", kDomainOrderSuccess, "application/json");
    CHECK((!refused || refused->status != 200));
    CHECK(publisher.count() == 1);

    server.stop();
    thread.join();
    set_log_fd(1);

    WebhookServerSettings broken = settings;
    broken.tls_key_file = cert;  // not a key
    WebhookServer invalid(pipeline, observer, broken);
    CHECK_FALSE(invalid.valid());
    fs::remove_all(dir);
  }
}
