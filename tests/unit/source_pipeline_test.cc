// The pipeline's path for sources beside CMR (docs/sources.md): identity from headers or the
// body, routing by event type, schemas, records, dedup ids namespaced by source (memory and
// markers; CMR's stay bare), dead letters and quarantine entries naming the source.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include "core/pipeline.h"
#include "core/source_profile.h"
#include "core/spool_codec.h"
#include "spool/quarantine.h"
#include "support/fakes.h"
#include "support/samples.h"
#include "support/signed_post.h"

using namespace cmr_bridge;
using namespace cmr_bridge::test;

namespace {

const std::string kGithubKey = "gh-secret";
const std::string kStripeKey = "whsec_pay";
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1764489600));

std::string header_of(const Record& record, const std::string& name) {
  for (const auto& [key, value] : record.headers) {
    if (key == name)
      return value;
  }
  return "(absent)";
}

std::unique_ptr<Source> make_source(std::string name, VerificationProfile profile,
                                    const std::string& key, std::vector<Route> routes) {
  auto source = std::make_unique<Source>();
  source->name = std::move(name);
  source->cloudevents_source = "https://" + source->name + ".example";
  source->profile = profile;
  auto verifier = make_profile_verifier(profile, {key}, std::chrono::seconds(300));
  REQUIRE(verifier);
  source->verifier = std::move(verifier).value();
  if (profile == VerificationProfile::kStripe) {
    source->id = {SourceField::From::kPointer, "/id"};
    source->type = {SourceField::From::kPointer, "/type"};
  }
  source->routes = RouteTable(std::move(routes));
  return source;
}

// Keeps what the pipeline quarantines, in memory.
class RecordingQuarantine final : public Quarantine {
 public:
  QuarantineResult keep(const QuarantinedRequest& request) override {
    entries.push_back(request);
    return QuarantineResult::kDurable;
  }
  std::vector<QuarantinedRequest> entries;
};

struct SourceFixture {
  FixedClock clock{kNow};
  FakePublisher publisher;
  FakeMarkerSink markers;
  FakeSpool spool;
  NullObserver observer;
  RecordingQuarantine quarantine;
  DedupCache dedup{DedupSettings{1000, std::chrono::hours(48)}, clock};
  std::unique_ptr<SignatureVerifier> cmr_verifier =
      std::move(SignatureVerifier::create({kTestKey}, SignatureScheme::kAuto)).value();
  RouteTable cmr_routes = RouteTable::defaults(TopicNames{});
  std::unique_ptr<Source> gh_owned = make_source(
      "gh", VerificationProfile::kGithub, kGithubKey,
      {{"push", "", "gh.push", {"/repository/id"}, ""}, {"issue*", "", "gh.issues", {}, ""}});
  std::unique_ptr<Source> pay_owned = make_source("pay", VerificationProfile::kStripe, kStripeKey,
                                                  {{"*", "", "pay.events", {}, ""}});
  Source* gh = gh_owned.get();
  Source* pay = pay_owned.get();
  SourceTable sources = table_of(std::move(gh_owned), std::move(pay_owned));
  IngestPipeline pipeline{PipelineSettings{}, PipelineParts{.verifier = *cmr_verifier,
                                                            .routes = cmr_routes,
                                                            .publisher = publisher,
                                                            .clock = clock,
                                                            .observer = observer,
                                                            .dedup = &dedup,
                                                            .markers = &markers,
                                                            .spool = &spool,
                                                            .quarantine = &quarantine,
                                                            .sources = &sources}};

  static SourceTable table_of(std::unique_ptr<Source> first, std::unique_ptr<Source> second) {
    std::vector<std::unique_ptr<Source>> sources;
    sources.push_back(std::move(first));
    sources.push_back(std::move(second));
    return SourceTable(std::move(sources));
  }

  Outcome send_github(const std::string& delivery, const std::string& event,
                      const std::string& body, const std::string& key = kGithubKey) {
    auto headers = sign_for_profile(VerificationProfile::kGithub, key, delivery, "", body);
    REQUIRE(headers);
    headers->emplace_back("X-GitHub-Event", event);
    return send(*gh, *headers, body);
  }
  Outcome send_stripe(const std::string& body) {
    const std::string t = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(kNow.time_since_epoch()).count());
    auto headers = sign_for_profile(VerificationProfile::kStripe, kStripeKey, "", t, body);
    REQUIRE(headers);
    return send(*pay, *headers, body);
  }
  Outcome send(const Source& source, const HeaderList& headers, const std::string& body,
               TraceContext trace = {}) {
    const HeaderListView view(headers);
    WebhookRequest request;
    request.body = body;
    request.trace = trace;
    request.source = &source;
    request.headers = &view;
    return pipeline.handle(request);
  }
};

}  // namespace

TEST_SUITE("source pipeline") {
  TEST_CASE_FIXTURE(SourceFixture, "a github event is routed by its header type and keyed") {
    const std::string body = R"({"ref":"refs/heads/main","repository":{"id":"r-1"}})";
    const Outcome outcome = send_github("d-1", "push", body);
    CHECK(outcome.kind == OutcomeKind::kAccepted);
    CHECK(outcome.event == "push");
    CHECK(outcome.event_id == "d-1");
    CHECK(outcome.signature_scheme == "github");
    REQUIRE(publisher.records.size() == 1);
    const Record& record = publisher.records[0];
    CHECK(record.topic == "gh.push");
    CHECK(record.key == "r-1");
    rapidjson::Document event;
    event.Parse(record.value.c_str());
    CHECK(std::string(event["id"].GetString()) == "d-1");
    CHECK(std::string(event["type"].GetString()) == "push");
    CHECK(std::string(event["source"].GetString()) == "https://gh.example");
    CHECK(std::string(event["signaturescheme"].GetString()) == "github");
    // No timestamp in the profile: the time is when it was received.
    CHECK(std::string(event["time"].GetString()) == std::string(event["receivedtime"].GetString()));
    CHECK(std::string(event["data"]["ref"].GetString()) == "refs/heads/main");
  }

  TEST_CASE_FIXTURE(SourceFixture,
                    "a source's record and dead letter carry the sender's trace context") {
    const TraceContext trace{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                             "rojo=00f067aa0ba902b7"};
    const std::string body = R"({"id":"e-trace","type":"invoice.paid"})";
    const std::string t = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(kNow.time_since_epoch()).count());
    auto headers = sign_for_profile(VerificationProfile::kStripe, kStripeKey, "", t, body);
    REQUIRE(headers);
    CHECK(send(*pay, *headers, body, trace).kind == OutcomeKind::kAccepted);
    auto github = sign_for_profile(VerificationProfile::kGithub, kGithubKey, "d-trace", "", "{}");
    REQUIRE(github);
    github->emplace_back("X-GitHub-Event", "release");
    CHECK(send(*gh, *github, "{}", trace).code == OutcomeCode::kUnroutableEvent);
    REQUIRE(publisher.records.size() == 2);
    rapidjson::Document event;
    event.Parse(publisher.records[0].value.c_str());
    CHECK(std::string(event["traceparent"].GetString()) == trace.traceparent);
    CHECK(std::string(event["tracestate"].GetString()) == trace.tracestate);
    CHECK(header_of(publisher.records[0], "traceparent") == trace.traceparent);
    CHECK(header_of(publisher.records[0], "tracestate") == trace.tracestate);
    CHECK(header_of(publisher.records[1], "traceparent") == trace.traceparent);
    CHECK(header_of(publisher.records[1], "cmr-source") == "gh");
  }

  TEST_CASE_FIXTURE(SourceFixture, "dedup ids are namespaced by source; CMR's stay bare") {
    const std::string body = R"({"id":"same-id","type":"invoice.paid"})";
    CHECK(send_stripe(body).kind == OutcomeKind::kAccepted);
    CHECK(send_stripe(body).code == OutcomeCode::kDuplicate);
    CHECK(send_github("same-id", "issues", "{}").kind == OutcomeKind::kAccepted);
    const std::string cmr_body = R"({"event":"mailbox.created","eventId":"same-id","data":{}})";
    const std::string ts = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(kNow.time_since_epoch()).count());
    const Outcome cmr = pipeline.handle(
        {compute_signature(kTestKey, SignatureScheme::kBodyHex, ts, cmr_body), ts, cmr_body});
    CHECK(cmr.kind == OutcomeKind::kAccepted);
    CHECK(publisher.records.size() == 3);
    REQUIRE(markers.markers.size() == 3);
    CHECK(markers.markers[0].event_id == "pay:same-id");
    CHECK(markers.markers[1].event_id == "gh:same-id");
    CHECK(markers.markers[2].event_id == "same-id");
    CHECK(dedup_id("cmr", "x") == "x");
    CHECK(dedup_id("", "x") == "x");
  }

  TEST_CASE_FIXTURE(SourceFixture, "a wrong key is refused before anything is read or stored") {
    const Outcome outcome = send_github("d-2", "push", "{}", "other-secret");
    CHECK(outcome.code == OutcomeCode::kSignatureMismatch);
    CHECK_FALSE(outcome.message.empty());
    CHECK(publisher.records.empty());
    CHECK(markers.markers.empty());
  }

  TEST_CASE_FIXTURE(SourceFixture,
                    "unroutable, unparseable and id-less bodies are dead-lettered "
                    "naming the source") {
    CHECK(send_github("d-3", "release", "{}").code == OutcomeCode::kUnroutableEvent);
    CHECK(send_github("d-4", "push", "not json").code == OutcomeCode::kInvalidJson);
    CHECK(send_stripe(R"({"type":"invoice.paid"})").code == OutcomeCode::kInvalidEnvelope);
    REQUIRE(publisher.records.size() == 3);
    const Record& unroutable = publisher.records[0];
    CHECK(unroutable.topic == "cmr.webhooks.deadletter");
    CHECK(header_of(unroutable, "cmr-source") == "gh");
    CHECK(header_of(unroutable, "cmr-source-delivery-id") == "d-3");
    CHECK(header_of(unroutable, "cmr-source-event-type") == "release");
    CHECK(header_of(unroutable, "cmr-dlq-detail") ==
          "no route for event type \"release\" of source gh");
    CHECK(header_of(unroutable, "cmr-signature-scheme") == "github");
    CHECK(header_of(publisher.records[2], "cmr-source") == "pay");
    CHECK(header_of(publisher.records[2], "cmr-dlq-detail") ==
          "no event id (a non-empty string at /id)");
    CHECK(header_of(publisher.records[2], "cmr-source-delivery-id") == "(absent)");
  }

  TEST_CASE_FIXTURE(SourceFixture, "CMR's dead letters name the cmr source") {
    const std::string body = R"({"event":"nowhere.at.all","eventId":"e-1","data":{}})";
    const std::string ts = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(kNow.time_since_epoch()).count());
    const Outcome outcome = pipeline.handle(
        {compute_signature(kTestKey, SignatureScheme::kBodyHex, ts, body), ts, body});
    CHECK(outcome.code == OutcomeCode::kUnroutableEvent);
    REQUIRE(publisher.records.size() == 1);
    CHECK(header_of(publisher.records[0], "cmr-source") == "cmr");
  }

  TEST_CASE_FIXTURE(SourceFixture, "a source's schema validates the body it routes") {
    auto schemas = SchemaSet::compile(
        {{"invoice.paid", "inline", R"({"type":"object","required":["amount"]})"}});
    REQUIRE(schemas);
    pay->schemas = std::move(schemas).value();
    CHECK(send_stripe(R"({"id":"e-5","type":"invoice.paid"})").code ==
          OutcomeCode::kSchemaViolation);
    CHECK(send_stripe(R"({"id":"e-6","type":"invoice.paid","amount":5})").kind ==
          OutcomeKind::kAccepted);
    // No schema named like the type: not validated.
    CHECK(send_stripe(R"({"id":"e-7","type":"charge.failed"})").kind == OutcomeKind::kAccepted);
  }

  TEST_CASE_FIXTURE(SourceFixture,
                    "a source's request waits in the spool with its source and "
                    "is forwarded through that source's routes") {
    spool.backlog = true;
    const Outcome spooled = send_github("d-9", "issues", R"({"action":"opened"})");
    CHECK(spooled.code == OutcomeCode::kSpooled);
    CHECK(publisher.records.empty());
    REQUIRE(spool.requests.size() == 1);
    const SpooledRequest& kept = spool.requests[0];
    CHECK(kept.source == "gh");
    CHECK(kept.delivery_id == "d-9");
    CHECK(kept.event_type == "issues");
    CHECK(kept.signature_scheme == "github");

    // Through the on-disk format and back.
    const DecodedFrame decoded = decode_spool_frame(encode_spool_frame(kept));
    REQUIRE(decoded.status == FrameStatus::kOk);
    CHECK(decoded.request.source == "gh");
    CHECK(decoded.request.delivery_id == "d-9");
    CHECK(decoded.request.event_type == "issues");
    CHECK(decoded.request.body == kept.body);

    // What the spool forwarder decides (it calls reverify() and decide() itself).
    const VerifiedRequest reread = pipeline.reverify(decoded.request);
    CHECK(reread.source == gh);
    const Decision decision = pipeline.decide(reread);
    const auto* decided = std::get_if<PublishDecision>(&decision);
    REQUIRE(decided != nullptr);
    CHECK(decided->record.topic == "gh.issues");

    const Outcome forwarded = pipeline.forward(decoded.request);
    CHECK(forwarded.kind == OutcomeKind::kAccepted);
    REQUIRE(publisher.records.size() == 1);
    CHECK(publisher.records[0].topic == "gh.issues");
    REQUIRE(markers.markers.size() == 1);
    CHECK(markers.markers[0].event_id == "gh:d-9");
  }

  TEST_CASE_FIXTURE(SourceFixture,
                    "a spooled request of a source no longer configured is "
                    "dead-lettered naming it") {
    const SpooledRequest orphan{.body = "{}",
                                .timestamp = "",
                                .signature_scheme = "github",
                                .received = kNow,
                                .source = "gone",
                                .delivery_id = "d-10",
                                .event_type = "push"};
    const Outcome outcome = pipeline.forward(orphan);
    CHECK(outcome.code == OutcomeCode::kUnroutableEvent);
    REQUIRE(publisher.records.size() == 1);
    CHECK(header_of(publisher.records[0], "cmr-source") == "gone");
    CHECK(header_of(publisher.records[0], "cmr-source-delivery-id") == "d-10");
    CHECK(header_of(publisher.records[0], "cmr-dlq-detail") == "source gone is not configured");
  }

  TEST_CASE_FIXTURE(SourceFixture,
                    "a source's request whose record and dead letter Kafka refuses for good is "
                    "quarantined with its source, and decided again by that source's routes") {
    publisher.rejected_topics = {"gh.issues", TopicNames{}.deadletter};
    const std::string body = R"({"action":"opened"})";
    const Outcome kept = send_github("d-12", "issues", body);
    CHECK(kept.code == OutcomeCode::kQuarantined);
    CHECK(kept.kind == OutcomeKind::kDeadLettered);
    REQUIRE(quarantine.entries.size() == 1);
    REQUIRE(publisher.records.size() == 2);  // the refused record, then its refused dead letter
    CHECK(header_of(publisher.records[1], "cmr-source") == "gh");
    CHECK(markers.markers.empty());

    // Through the file format and back, as redrive --from-quarantine reads it.
    const auto entry = decode_quarantine_entry(encode_quarantine_entry(quarantine.entries[0]));
    REQUIRE(entry);
    CHECK(entry->request.source == "gh");
    CHECK(entry->request.delivery_id == "d-12");
    CHECK(entry->request.event_type == "issues");
    CHECK(entry->request.signature_scheme == "github");
    CHECK(entry->event_id == "d-12");

    // What redrive --from-quarantine does with it once Kafka takes the topic.
    publisher.rejected_topics.clear();
    const VerifiedRequest reread = pipeline.reverify(entry->request);
    CHECK(reread.source == gh);
    const Outcome redriven = pipeline.publish_once(pipeline.decide(reread), reread, false);
    CHECK(redriven.kind == OutcomeKind::kAccepted);
    REQUIRE(publisher.records.size() == 3);
    CHECK(publisher.records[2].topic == "gh.issues");
    REQUIRE(markers.markers.size() == 1);
    CHECK(markers.markers[0].event_id == "gh:d-12");
  }

  TEST_CASE("CMR's spool records keep format version 1; version 2 carries the source") {
    const SpooledRequest cmr{
        .body = "{}", .timestamp = "1764489600", .signature_scheme = "body-hex", .received = kNow};
    const std::string v1 = encode_spool_frame(cmr);
    CHECK(static_cast<uint8_t>(v1[kSpoolFrameHeader]) == 1);
    const DecodedFrame back = decode_spool_frame(v1);
    REQUIRE(back.status == FrameStatus::kOk);
    CHECK(back.request.source.empty());
    SpooledRequest source = cmr;
    source.source = "pay";
    const std::string v2 = encode_spool_frame(source);
    CHECK(static_cast<uint8_t>(v2[kSpoolFrameHeader]) == 2);
    const DecodedFrame decoded = decode_spool_frame(v2);
    REQUIRE(decoded.status == FrameStatus::kOk);
    CHECK(decoded.request.source == "pay");
    CHECK(decoded.request.delivery_id.empty());
    SpooledRequest everything = source;
    everything.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    everything.tracestate = "rojo=00f067aa0ba902b7";
    everything.delivery_id = "d-11";
    everything.event_type = "invoice.paid";
    const DecodedFrame all = decode_spool_frame(encode_spool_frame(everything));
    REQUIRE(all.status == FrameStatus::kOk);
    CHECK(all.request.traceparent == everything.traceparent);
    CHECK(all.request.tracestate == everything.tracestate);
    CHECK(all.request.source == "pay");
    CHECK(all.request.delivery_id == "d-11");
    CHECK(all.request.event_type == "invoice.paid");
    CHECK(decode_spool_frame(v2.substr(0, v2.size() - 1)).status == FrameStatus::kIncomplete);
  }
}
