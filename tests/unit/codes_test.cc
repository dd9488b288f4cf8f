#include "cmr_bridge/codes.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

using namespace cmr_bridge;

namespace {
// The README and every Markdown page under docs/: wherever the HTTP API is documented.
std::vector<std::filesystem::path> documentation_pages() {
  const std::filesystem::path root = CMR_BRIDGE_SOURCE_DIR;
  std::vector<std::filesystem::path> pages = {root / "README.md"};
  if (std::filesystem::is_directory(root / "docs")) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root / "docs")) {
      if (entry.path().extension() == ".md")
        pages.push_back(entry.path());
    }
  }
  return pages;
}

// Lines of the first Markdown table after a heading that mentions "status codes".
std::vector<std::string> documented_status_table() {
  const std::regex heading(R"(^#+ .*status codes)", std::regex::icase);
  for (const auto& page : documentation_pages()) {
    std::ifstream in(page);
    std::string line;
    bool in_section = false;
    std::vector<std::string> rows;
    while (std::getline(in, line)) {
      if (!in_section) {
        in_section = std::regex_search(line, heading);
      } else if (line.rfind("|", 0) == 0) {
        rows.push_back(line);
      } else if (!rows.empty()) {
        return rows;
      }
    }
    if (!rows.empty())
      return rows;
  }
  return {};
}

// The first documentation line that contains `needle`.
std::string documented_line(std::string_view needle) {
  for (const auto& page : documentation_pages()) {
    std::ifstream in(page);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(needle) != std::string::npos)
        return line;
    }
  }
  return {};
}

std::string backticked(std::string_view name) {
  return "`" + std::string(name) + "`";
}
// Each row's name is unique, is what to_string() returns, and is listed (in backticks) on the
// documentation line of `metric`, whose label values they are.
template <typename Row, std::size_t N, typename Enum>
void check_metric_labels(const std::array<Row, N>& rows, Enum Row::*key, std::string_view metric) {
  const std::string documented = documented_line(metric);
  REQUIRE_FALSE(documented.empty());
  std::set<std::string_view> names;
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CHECK(names.insert(row.name).second);
    CHECK(to_string(row.*key) == row.name);
    CHECK(documented.find(backticked(row.name)) != std::string::npos);
  }
}
}  // namespace

TEST_SUITE("codes") {
  TEST_CASE("every outcome code has a unique, non-empty string that round-trips") {
    std::set<std::string_view> names;
    for (const auto& row : kOutcomeCodes) {
      CAPTURE(row.name);
      if (row.code == OutcomeCode::kNone) {
        CHECK(row.name.empty());
        CHECK_FALSE(outcome_code_from_string(row.name));
        continue;
      }
      CHECK_FALSE(row.name.empty());
      CHECK(names.insert(row.name).second);
      CHECK(to_string(row.code) == row.name);
      CHECK(outcome_code_from_string(row.name) == row.code);
      CHECK(row.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos);
    }
    CHECK_FALSE(outcome_code_from_string("signature-mismatch"));
    CHECK_FALSE(outcome_code_from_string("SIGNATURE_MISMATCH"));
  }

  TEST_CASE("every outcome code has an HTTP status that agrees with its kind") {
    for (const auto& row : kOutcomeCodes) {
      CAPTURE(row.name);
      CHECK(row.http_status >= 200);
      CHECK(row.http_status < 600);
      // 2xx means durable (or already done): only these kinds may answer it.
      const bool success_kind = row.kind == OutcomeKind::kAccepted ||
                                row.kind == OutcomeKind::kDeadLettered ||
                                row.kind == OutcomeKind::kDuplicate;
      CHECK(success_kind == (row.http_status == 200));
      // Retry-After only where a retry can succeed without the sender changing anything.
      const bool retryable = row.kind == OutcomeKind::kUnavailable ||
                             row.kind == OutcomeKind::kInFlight ||
                             row.kind == OutcomeKind::kOverloaded;
      CHECK(retryable == (row.retry_after != RetryAfter::kNever));
    }
  }

  TEST_CASE("each code's HTTP status and Retry-After are the documented ones") {
    const auto table = documented_status_table();
    REQUIRE_MESSAGE(!table.empty(), "no 'status codes' table in README.md or docs/");
    const std::regex status_cell(R"(`([0-9]{3})`)");
    for (const auto& row : kOutcomeCodes) {
      if (row.code == OutcomeCode::kNone)
        continue;
      CAPTURE(row.name);
      int rows_naming_it = 0;
      for (const auto& line : table) {
        if (line.find(backticked(row.name)) == std::string::npos)
          continue;
        ++rows_naming_it;
        CAPTURE(line);
        std::smatch status;
        REQUIRE(std::regex_search(line, status, status_cell));
        CHECK(std::stoi(status[1]) == row.http_status);
        const bool documents_retry = line.find("Retry-After") != std::string::npos;
        CHECK(documents_retry == (row.retry_after != RetryAfter::kNever));
        if (row.retry_after == RetryAfter::kOneSecond)
          CHECK(line.find("Retry-After: 1`") != std::string::npos);
      }
      CHECK(rows_naming_it == 1);
    }
  }

  TEST_CASE("every outcome kind has a unique string, and the outcomes metric documents it") {
    check_metric_labels(kOutcomeKinds, &OutcomeKindInfo::kind,
                        "`cmr_bridge_webhook_outcomes_total`");
  }

  TEST_CASE("every dedup result has a unique, documented string and answers as its code says") {
    check_metric_labels(kDedupResults, &DedupResultInfo::result,
                        "`cmr_bridge_dedup_results_total`");
    CHECK_FALSE(http_status(DedupResult::kClaimed));
    CHECK(http_status(DedupResult::kDuplicate) == 200);
    CHECK(http_status(DedupResult::kConflict) == 200);
    CHECK(http_status(DedupResult::kInFlight) == 409);
    CHECK(info(*info(DedupResult::kConflict).answer).kind == OutcomeKind::kDeadLettered);
  }
}
