// The quarantine: its file format, its directory bound, and the spool forwarder handing it a
// spooled record that Kafka refuses for good (record and dead letter) instead of dropping it.
#include "spool/quarantine.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/signature.h"
#include "log/logger.h"
#include "spool/file_spool.h"
#include "spool/spool_forwarder.h"
#include "support/fakes.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;
namespace fs = std::filesystem;
using namespace std::chrono;

namespace {

QuarantinedRequest sample_entry(std::string body) {
  return {{std::move(body), "1709942399", "body-hex",
           system_clock::time_point(milliseconds(1709942399123))},
          "domain.order.success",
          "E1",
          "publish_rejected",
          "Kafka can never accept this record on topic cmr.order.events: Broker: Unknown topic",
          "Kafka can never accept this record on topic cmr.webhooks.deadletter: Unknown topic"};
}

struct QuarantineDir {
  fs::path dir;
  QuarantineDir() {
    char templ[] = "/tmp/cmr-quarantine-test-XXXXXX";
    dir = mkdtemp(templ);
    set_log_fd(-1);
  }
  ~QuarantineDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
    set_log_fd(1);
  }
};

// A pipeline over a Kafka that refuses the order topic and the dead-letter topic for good, and
// a spool holding one order event for the forwarder.
struct RefusingKafka : QuarantineDir {
  FixedClock clock{system_clock::time_point(seconds(1709942399))};
  FakePublisher publisher;
  TopicNames topics;
  NullObserver observer;
  RouteTable routes = RouteTable::defaults(topics);
  std::unique_ptr<SignatureVerifier> verifier =
      SignatureVerifier::create({"k"}, SignatureScheme::kAuto).value();
  const std::string body =
      R"({"event":"domain.order.success","eventId":"E1","data":{"orderId":"O1","userId":"U"}})";

  RefusingKafka() { publisher.rejected_topics = {topics.order, topics.deadletter}; }
  IngestPipeline pipeline(Quarantine* quarantine) {
    return IngestPipeline{PipelineSettings{},
                          {.verifier = *verifier,
                           .routes = routes,
                           .publisher = publisher,
                           .clock = clock,
                           .observer = observer,
                           .quarantine = quarantine}};
  }
  std::unique_ptr<FileSpool> spool_with_one_event() {
    auto spool = FileSpool::open({(dir / "spool").string()}).value();
    REQUIRE(spool->append({body, "1709942399", "body-hex", system_clock::now()}) ==
            SpoolAppendResult::kDurable);
    return spool;
  }
};

}  // namespace

TEST_SUITE("quarantine") {
  TEST_CASE("an entry survives encoding byte for byte, bodies that are not UTF-8 included") {
    const std::string body("{\"a\":\"\xff\x00\x01\"}", 11);
    const auto decoded = decode_quarantine_entry(encode_quarantine_entry(sample_entry(body)));
    REQUIRE(decoded);
    CHECK(decoded->request.body == body);
    CHECK(decoded->request.timestamp == "1709942399");
    CHECK(decoded->request.signature_scheme == "body-hex");
    CHECK(decoded->request.received == system_clock::time_point(milliseconds(1709942399123)));
    CHECK(decoded->event == "domain.order.success");
    CHECK(decoded->event_id == "E1");
    CHECK(decoded->reason == "publish_rejected");
    CHECK(decoded->refusal.find("cmr.webhooks.deadletter") != std::string::npos);
  }

  TEST_CASE("a source's entry keeps its source, delivery id, event type and trace context") {
    QuarantinedRequest entry = sample_entry("{}");
    entry.request.source = "gh";
    entry.request.delivery_id = "d-1";
    entry.request.event_type = "issues";
    entry.request.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    entry.request.tracestate = "rojo=00f067aa0ba902b7";
    const std::string text = encode_quarantine_entry(entry);
    CHECK(text.find(R"("source":"gh")") != std::string::npos);
    const auto decoded = decode_quarantine_entry(text);
    REQUIRE(decoded);
    CHECK(decoded->request.source == "gh");
    CHECK(decoded->request.delivery_id == "d-1");
    CHECK(decoded->request.event_type == "issues");
    CHECK(decoded->request.traceparent == entry.request.traceparent);
    CHECK(decoded->request.tracestate == entry.request.tracestate);
  }

  TEST_CASE("CMR's entries name the cmr source; entries written before sources are CMR's") {
    const std::string text = encode_quarantine_entry(sample_entry("{}"));
    REQUIRE(text.find(R"("source":"cmr")") != std::string::npos);
    CHECK(decode_quarantine_entry(text)->request.source.empty());
    const std::string before_sources =
        R"({"event":"domain.order.success","eventId":"E1","reason":"publish_rejected",)"
        R"("detail":"d","refusal":"r","receivedTime":"2024-03-08T23:59:59.123Z",)"
        R"("timestamp":"1709942399","signatureScheme":"body-hex","body":"e30="})";
    const auto old = decode_quarantine_entry(before_sources);
    REQUIRE(old);
    CHECK(old->request.source.empty());
    CHECK(old->request.delivery_id.empty());
    CHECK(old->request.traceparent.empty());
    CHECK(old->request.body == "{}");
    std::string damaged = text;
    damaged.replace(damaged.find(R"("source":"cmr")"), 14, R"("source":7)");
    CHECK(decode_quarantine_entry(damaged).error().message() == "missing string field source");
  }

  TEST_CASE("a damaged entry is refused, naming what is wrong") {
    CHECK(decode_quarantine_entry("nope").error().message() == "not a JSON object");
    CHECK(decode_quarantine_entry(R"({"event":"e"})").error().message() ==
          "missing string field eventId");
    std::string text = encode_quarantine_entry(sample_entry("{}"));
    text.replace(text.find("\"body\":\"") + 8, 2, "!!");
    CHECK(decode_quarantine_entry(text).error().message() == "body is not base64");
  }

  TEST_CASE("file names sort in the order entries were written") {
    CHECK(quarantine_file_name(5, 1) == "q-00000000000000000005-000001.json");
    CHECK(quarantine_file_name(5, 1) < quarantine_file_name(5, 2));
    CHECK(quarantine_file_name(5, 999999) < quarantine_file_name(6, 0));
    CHECK(is_quarantine_file_name(quarantine_file_name(5, 1)));
    CHECK_FALSE(is_quarantine_file_name(quarantine_file_name(5, 1) + ".tmp"));
  }

  TEST_CASE_FIXTURE(QuarantineDir,
                    "keep writes one durable file per request, counts it, and refuses past the "
                    "cap until entries are removed") {
    const std::string big(1536 * 1024, 'x');
    // Room for the big entry alone, not for it and the small one.
    const std::size_t cap = encode_quarantine_entry(sample_entry(big)).size() +
                            encode_quarantine_entry(sample_entry("{}")).size() - 1;
    auto opened = FileQuarantine::open({dir.string(), cap});
    REQUIRE(opened);
    FileQuarantine& quarantine = **opened;
    CHECK(quarantine.keep(sample_entry("{}")) == QuarantineResult::kDurable);
    auto files = list_quarantine_files(dir.string());
    REQUIRE(files);
    REQUIRE(files->size() == 1);
    std::ifstream in(files->front());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(decode_quarantine_entry(text)->event_id == "E1");
    CHECK(quarantine.records() == 1);

    CHECK(quarantine.keep(sample_entry(big)) == QuarantineResult::kFull);
    CHECK(list_quarantine_files(dir.string())->size() == 1);
    fs::remove(files->front());
    CHECK(quarantine.keep(sample_entry(big)) == QuarantineResult::kDurable);
    CHECK(quarantine.records() == 1);
  }

  TEST_CASE_FIXTURE(QuarantineDir, "a directory that cannot be created names the setting") {
    const auto opened = FileQuarantine::open({"/proc/cmr-bridge-quarantine"});
    REQUIRE_FALSE(opened);
    CHECK(opened.error().message().rfind("CMR_BRIDGE_QUARANTINE_DIR: ", 0) == 0);
  }

  TEST_CASE_FIXTURE(RefusingKafka,
                    "a spooled record whose record and dead letter Kafka refuses for good leaves "
                    "the spool only into the quarantine") {
    auto quarantine = FileQuarantine::open({(dir / "quarantine").string()}).value();
    const IngestPipeline forwarding = pipeline(quarantine.get());
    auto spool = spool_with_one_event();
    {
      SpoolForwarder forwarder(*spool, forwarding,
                               SpoolForwarderSettings{1, milliseconds(10), nullptr});
      for (int i = 0; i < 500 && spool->stats().records > 0; ++i)
        std::this_thread::sleep_for(milliseconds(10));
    }
    CHECK(spool->stats().records == 0);
    const auto files = list_quarantine_files((dir / "quarantine").string());
    REQUIRE(files);
    REQUIRE(files->size() == 1);
    std::ifstream in(files->front());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto entry = decode_quarantine_entry(text);
    REQUIRE(entry);
    CHECK(entry->request.body == body);
    CHECK(entry->reason == "publish_rejected");
  }

  TEST_CASE_FIXTURE(RefusingKafka,
                    "without a quarantine the forwarder keeps such a record in the spool instead "
                    "of dropping it") {
    const IngestPipeline forwarding = pipeline(nullptr);
    auto spool = spool_with_one_event();
    {
      SpoolForwarder forwarder(*spool, forwarding,
                               SpoolForwarderSettings{1, milliseconds(10), nullptr});
      for (int i = 0; i < 500 && forwarder.errors() < 3; ++i)
        std::this_thread::sleep_for(milliseconds(10));
      CHECK(forwarder.errors() >= 3);
    }
    CHECK(spool->stats().records == 1);
  }
}
