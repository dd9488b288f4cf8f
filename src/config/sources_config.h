// The config file's "sources" list: webhook providers beside CMR (docs/sources.md). Parsing and
// validation are pure; every problem names the file, the source (by position and name) and the
// field, and all of them are reported at once.
#pragma once

#include <rapidjson/fwd.h>

#include <string>
#include <vector>

#include "cmr_bridge/config.h"

namespace cmr_bridge {

// Parses `value` (the "sources" member of the file `origin`) into `sources`, filling each
// profile's defaults for where the event id, type and time come from. Problems are appended to
// `errors`.
void parse_sources(const rapidjson::Value& value, const std::string& origin,
                   std::vector<SourceConfig>& sources, std::vector<std::string>& errors);

// Checks that need the other settings: a github source needs dedup on with a TTL of at least a
// day (its requests carry no timestamp, so dedup is its only replay defence).
void check_sources_against_settings(const Config& config, std::vector<std::string>& errors);

// "sources[<index>] (<name>)", the prefix of every problem about one source.
std::string describe_source(std::size_t index, const std::string& name);

}  // namespace cmr_bridge
