#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "app/bridge.h"
#include "cli/commands.h"
#include "core/json_writer.h"
#include "core/timestamp.h"
#include "kafka/kafka_publisher.h"
#include "kafka/topic_scan.h"
#include "log/logger.h"
#include "spool/quarantine.h"

namespace cmr_bridge {
namespace {

struct RedriveOptions {
  ScanRange range;
  std::vector<std::string> reasons;  // empty: every reason
  std::vector<std::string> sources;  // empty: every source ("cmr" for CMR's records)
  bool dry_run = false;
  std::string from_quarantine;  // set: re-inject this quarantine directory instead
};

constexpr const char* kRedriveUsage =
    "usage: cmr-bridge redrive [--since T] [--until T] [--from-offset N] [--reason R]... "
    "[--source NAME]... [--dry-run]\n"
    "       cmr-bridge redrive --from-quarantine DIR [--reason R]... [--source NAME]... "
    "[--dry-run]";

Result<RedriveOptions> parse_redrive_options(const std::vector<std::string>& args) {
  RedriveOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    const std::string& arg = args[i];
    if (arg == "--dry-run") {
      options.dry_run = true;
    } else if (arg == "--from-quarantine" && has_value) {
      options.from_quarantine = args[++i];
    } else if (arg == "--reason" && has_value) {
      options.reasons.push_back(args[++i]);
    } else if (arg == "--source" && has_value) {
      options.sources.push_back(args[++i]);
    } else if (arg == "--from-offset" && has_value) {
      const std::string& text = args[++i];
      int64_t offset = -1;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), offset);
      if (error != std::errc() || end != text.data() + text.size() || offset < 0)
        return Error("--from-offset takes an offset: a whole number, 0 or more");
      options.range.from_offset = offset;
    } else if ((arg == "--since" || arg == "--until") && has_value) {
      const auto time = parse_rfc3339(args[++i]);
      if (!time)
        return Error(arg + " takes an RFC 3339 UTC time like 2026-11-27T10:00:00Z");
      (arg == "--since" ? options.range.since : options.range.until) = *time;
    } else {
      return Error(kRedriveUsage);
    }
  }
  return options;
}

std::string header(const ScannedRecord& record, const char* name) {
  const auto it = record.headers.find(name);
  return it == record.headers.end() ? std::string() : it->second;
}

bool selected(const std::vector<std::string>& wanted, const std::string& value) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

// eventid_conflict: a second body under an eventId that was already published. Republishing it
// would publish the eventId twice (once dedup forgot the first, or with dedup off), so it is
// kept for a human, whatever --reason selects.
bool is_conflict(const std::string& reason) {
  return reason == to_string(OutcomeCode::kEventIdConflict);
}
constexpr const char* kConflictKept = "eventid_conflict records are never republished";

// What became of a record or request published again (the summary's name for it) and why.
// "dead_lettered": Kafka refused the record for good again (publish_rejected) and a new dead
// letter holds it; "conflict": its eventId was published before with another body.
std::pair<std::string, std::string> redrive_result(const Outcome& outcome) {
  const std::string code(to_string(outcome.code));
  switch (outcome.kind) {
    case OutcomeKind::kAccepted:
      return {"republished", outcome.topic};
    case OutcomeKind::kDuplicate:
      return {"duplicate", ""};
    case OutcomeKind::kDeadLettered:
      if (outcome.code == OutcomeCode::kEventIdConflict)
        return {"conflict", code};
      return {"dead_lettered", code};
    case OutcomeKind::kRejected:
      return {"unpublishable", outcome.message};
    default:
      return {"unavailable", code + ": " + outcome.message};
  }
}

// Whether a redrive run exits 1: Kafka failed a record (it stays where it was for the next run).
bool kafka_failed(const std::string& result) {
  return result == "unavailable" || result == "unpublishable";
}

// The source a quarantined request came to ("cmr" for CMR's and for entries older than sources).
std::string quarantined_source(const QuarantinedRequest& entry) {
  return entry.request.source.empty() ? std::string(kCmrSourceName) : entry.request.source;
}

// One quarantine file: what became of it ("republished", "duplicate", "dead_lettered" remove
// the file; the others keep it) and why.
std::pair<std::string, std::string> redrive_quarantined(const IngestPipeline& pipeline,
                                                        const RedriveOptions& options,
                                                        const QuarantinedRequest& entry) {
  if (!selected(options.reasons, entry.reason) ||
      !selected(options.sources, quarantined_source(entry)))
    return {"skipped", ""};
  if (is_conflict(entry.reason))
    return {"conflict_kept", kConflictKept};
  // Decided again by the source it came to, as the spool forwarder does.
  const VerifiedRequest verified = pipeline.reverify(entry.request);
  if (verified.source == nullptr && !entry.request.source.empty()) {
    // Kept until the source is configured again, as a dead letter of that source is.
    return {"still_failing", "source " + entry.request.source + " is not configured"};
  }
  const Decision decision = pipeline.decide(verified);
  if (options.dry_run) {
    const auto* dead = std::get_if<DeadLetterDecision>(&decision);
    return {dead ? "would_dead_letter" : "would_publish",
            dead ? std::string(to_string(dead->reason)) : ""};
  }
  auto result = redrive_result(pipeline.publish_once(decision, verified, false));
  if (result.first == "conflict")
    return {"conflict_kept", kConflictKept};
  return result;
}

int redrive_from_quarantine(const IngestPipeline& pipeline, const RedriveOptions& options) {
  auto files = list_quarantine_files(options.from_quarantine);
  if (!files) {
    std::cerr << "--from-quarantine: " << files.error().message() << "\n";
    return kExitConfig;
  }
  std::map<std::string, std::size_t> totals;
  for (const auto& file : *files) {
    ++totals["read"];
    std::ifstream in(file, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto entry = decode_quarantine_entry(text);
    auto [result, detail] =
        entry ? redrive_quarantined(pipeline, options, entry.value())
              : std::pair<std::string, std::string>{"unreadable", entry.error().message()};
    if (result == "republished" || result == "duplicate" || result == "dead_lettered") {
      std::error_code ec;
      std::filesystem::remove(file, ec);
      if (ec)
        detail += " (file not removed: " + ec.message() + ")";
    }
    ++totals[result];
    std::cout << JsonObjectWriter()
                     .field("file", std::filesystem::path(file).filename().string())
                     .field("source", entry ? quarantined_source(entry.value()) : "")
                     .field("eventId", entry ? entry->event_id : "")
                     .field("was", entry ? entry->reason : "")
                     .field("result", result)
                     .field("detail", detail)
                     .finish()
              << "\n";
  }
  std::cout << "redrive summary:";
  for (const auto& [name, count] : totals)
    std::cout << " " << name << "=" << count;
  std::cout << "\n";
  return totals["unavailable"] + totals["unpublishable"] + totals["unreadable"] > 0 ? kExitRuntime
                                                                                    : kExitOk;
}

}  // namespace

int run_redrive_command(const std::string& executable, const std::vector<std::string>& args) {
  const auto options = parse_redrive_options(args);
  if (!options) {
    std::cerr << options.error().message() << "\n";
    return kExitConfig;
  }
  auto state = load_startup_state(executable);
  if (!state)
    return report_config_error(state.error());
  set_log_level(LogLevel::kWarn);
  BridgeOptions redrive_options;
  redrive_options.role = BridgeRole::kRedrive;
  auto built = Bridge::build(std::move(*state), std::move(redrive_options));
  if (!built)
    return report_config_error(built.error());
  const Bridge& bridge = **built;
  const Config& config = bridge.config();
  if (!bridge.wait_dedup_warmed(std::chrono::seconds(60))) {
    std::cerr << "the dedup topic " << config.dedup.topic << " could not be read within 60 s\n";
    return kExitRuntime;
  }
  const IngestPipeline& pipeline = bridge.pipeline();
  if (!options->from_quarantine.empty()) {
    const int exit_code = redrive_from_quarantine(pipeline, options.value());
    bridge.kafka_publisher()->flush(config.delivery_timeout);
    return exit_code;
  }

  std::map<std::string, std::size_t> totals;
  std::map<std::string, std::size_t> still_failing;
  const Status scanned = scan_topic(
      config.kafka, config.topics.deadletter, options->range, [&](const ScannedRecord& record) {
        ++totals["read"];
        const std::string old_reason = header(record, "cmr-dlq-reason");
        // Dead letters written before sources existed are CMR's.
        std::string source_name = header(record, "cmr-source");
        if (source_name.empty())
          source_name = kCmrSourceName;
        const Source* source =
            source_name == kCmrSourceName ? nullptr : bridge.sources().find(source_name);
        std::string result;
        std::string detail;
        if (!selected(options->reasons, old_reason) || !selected(options->sources, source_name)) {
          result = "skipped";
        } else if (is_conflict(old_reason)) {
          result = "conflict_kept";
          detail = kConflictKept;
        } else if (source_name != kCmrSourceName && source == nullptr) {
          result = "still_failing";
          detail = "source " + source_name + " is not configured";
          ++still_failing["unknown_source"];
        } else {
          const SpooledRequest request{
              .body = record.value,
              .timestamp = header(record, "cmr-x-timestamp"),
              .signature_scheme = header(record, "cmr-signature-scheme"),
              .received = parse_rfc3339(header(record, "cmr-received-time"))
                              .value_or(std::chrono::system_clock::now()),
              .traceparent = header(record, "traceparent"),
              .tracestate = header(record, "tracestate"),
              .source = source_name,
              .delivery_id = header(record, "cmr-source-delivery-id"),
              .event_type = header(record, "cmr-source-event-type")};
          const VerifiedRequest verified = reverified(request, &bridge.sources());
          const Decision decision = pipeline.decide(verified);
          if (const auto* dead = std::get_if<DeadLetterDecision>(&decision)) {
            const std::string reason(to_string(dead->reason));
            result = "still_failing";
            detail = reason + ": " + dead->detail;
            ++still_failing[reason];
          } else if (options->dry_run) {
            result = "would_publish";
          } else {
            std::tie(result, detail) =
                redrive_result(pipeline.publish_once(decision, verified, false));
          }
        }
        ++totals[result];
        std::cout << JsonObjectWriter()
                         .field("partition", static_cast<int64_t>(record.partition))
                         .field("offset", record.offset)
                         .field("source", source_name)
                         .field("eventId", header(record, "cmr-event-id"))
                         .field("was", old_reason)
                         .field("result", result)
                         .field("detail", detail)
                         .finish()
                  << "\n";
      });
  bridge.kafka_publisher()->flush(config.delivery_timeout);
  std::cout << "redrive summary:";
  for (const auto& [name, count] : totals)
    std::cout << " " << name << "=" << count;
  std::cout << "\n";
  for (const auto& [reason, count] : still_failing)
    std::cout << "  still failing: " << reason << " x" << count << "\n";
  if (!scanned) {
    std::cerr << "reading " << config.topics.deadletter << " failed: " << scanned.error().message()
              << "\n";
    return kExitRuntime;
  }
  for (const auto& [result, count] : totals)
    if (kafka_failed(result) && count > 0)
      return kExitRuntime;
  return kExitOk;
}

}  // namespace cmr_bridge
