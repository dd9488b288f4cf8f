#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <random>
#include <sstream>

#include "cli/commands.h"
#include "core/signature.h"
#include "core/source_profile.h"

namespace cmr_bridge {
namespace {

struct SignOptions {
  VerificationProfile profile = VerificationProfile::kCmr;
  std::string key;
  std::string timestamp;
  SignatureScheme scheme = SignatureScheme::kBodyHex;  // cmr only
  bool scheme_given = false;
  std::string delivery_id;  // standard-webhooks webhook-id, github X-GitHub-Delivery
  std::string event;        // github X-GitHub-Event
  std::string source;       // send only: POST to /webhooks/<source>
  std::string file;
  std::string url;   // send only
  std::string body;  // the contents of `file`
};

std::optional<std::string> read_body(const std::string& file) {
  if (file == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The first of the comma-separated keys in `variable` (how sources and CMR hold their keys);
// empty when it is unset.
std::string first_key_of(const char* variable) {
  const char* keys = std::getenv(variable);
  if (keys == nullptr)
    return {};
  const std::string all(keys);
  return all.substr(0, all.find(','));
}

// A fresh delivery id, so that two sends of one file are two deliveries (a repeated id is a
// duplicate): a random UUID for github (as X-GitHub-Delivery is), "msg_" + 32 hex digits for
// standard-webhooks.
std::string random_delivery_id(VerificationProfile profile) {
  std::random_device random;
  std::string hex;
  for (int i = 0; i < 4; ++i) {
    char word[9];
    std::snprintf(word, sizeof word, "%08x", static_cast<unsigned>(random()));
    hex += word;
  }
  if (profile != VerificationProfile::kGithub)
    return "msg_" + hex;
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

bool valid_source_name(std::string_view name) {
  if (name.empty() || name.size() > 32)
    return false;
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
  }
  return true;
}

// Parses the options of `sign` (or `send`, `with_url`) plus FILE (and URL). The key comes from
// --key, else from --key-env VAR, else (cmr only) from CMR_BRIDGE_SIGNING_KEYS, so that it need
// not be typed.
std::optional<SignOptions> parse(const std::vector<std::string>& args, bool with_url,
                                 const char* usage) {
  SignOptions options;
  std::string key_env;
  std::vector<std::string> positionals;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (arg == "--key" && has_value) {
      options.key = args[++i];
    } else if (arg == "--key-env" && has_value) {
      key_env = args[++i];
    } else if (arg == "--timestamp" && has_value) {
      options.timestamp = args[++i];
    } else if (arg == "--profile" && has_value) {
      const auto profile = parse_verification_profile(args[++i]);
      if (!profile) {
        std::cerr << "--profile must be cmr, standard-webhooks, github or stripe\n";
        return std::nullopt;
      }
      options.profile = *profile;
    } else if (arg == "--id" && has_value) {
      options.delivery_id = args[++i];
    } else if (arg == "--event" && has_value) {
      options.event = args[++i];
    } else if (arg == "--source" && has_value && with_url) {
      options.source = args[++i];
      if (!valid_source_name(options.source)) {
        std::cerr << "--source must be a source name ([a-z0-9-]{1,32})\n";
        return std::nullopt;
      }
    } else if (arg == "--scheme" && has_value) {
      const auto scheme = parse_signature_scheme(args[++i]);
      if (!scheme || *scheme == SignatureScheme::kAuto) {
        std::cerr << "--scheme must be body-hex, body-base64, timestamp-body-hex or "
                     "timestamp-body-base64\n";
        return std::nullopt;
      }
      options.scheme = *scheme;
      options.scheme_given = true;
    } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
      std::cerr << "unknown or incomplete option " << arg << "\n" << usage;
      return std::nullopt;
    } else {
      positionals.push_back(arg);
    }
  }
  if (positionals.size() != (with_url ? 2u : 1u)) {
    std::cerr << usage;
    return std::nullopt;
  }
  const bool cmr = options.profile == VerificationProfile::kCmr;
  if (!cmr && options.scheme_given) {
    std::cerr << "--scheme applies to --profile cmr only\n";
    return std::nullopt;
  }
  if (cmr && (!options.delivery_id.empty() || !options.event.empty())) {
    std::cerr << "--id and --event apply to the standard-webhooks and github profiles\n";
    return std::nullopt;
  }
  if (options.profile != VerificationProfile::kGithub && !options.event.empty()) {
    std::cerr << "--event applies to --profile github only\n";
    return std::nullopt;
  }
  if (with_url)
    options.url = positionals[0];
  options.file = positionals.back();
  if (options.key.empty() && !key_env.empty()) {
    options.key = first_key_of(key_env.c_str());
    if (options.key.empty()) {
      std::cerr << "--key-env " << key_env << ": the variable is unset or empty\n";
      return std::nullopt;
    }
  }
  if (options.key.empty() && cmr)
    options.key = first_key_of("CMR_BRIDGE_SIGNING_KEYS");
  if (options.key.empty()) {
    std::cerr << (cmr ? "no key: pass --key or --key-env VAR, or set CMR_BRIDGE_SIGNING_KEYS\n"
                      : "no key: pass --key or --key-env VAR\n");
    return std::nullopt;
  }
  auto body = read_body(options.file);
  if (!body) {
    std::cerr << "cannot read " << options.file << "\n";
    return std::nullopt;
  }
  options.body = std::move(*body);
  if (options.timestamp.empty()) {
    options.timestamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  }
  if (options.delivery_id.empty() && options.profile != VerificationProfile::kCmr &&
      options.profile != VerificationProfile::kStripe) {
    options.delivery_id = random_delivery_id(options.profile);
  }
  return options;
}

// The headers the sender of `options.profile` attaches; an error names what is wrong.
Result<HeaderList> signed_headers(const SignOptions& options) {
  if (options.profile == VerificationProfile::kCmr) {
    const auto signature =
        compute_signature(options.key, options.scheme, options.timestamp, options.body);
    if (signature.empty())
      return Error("cannot compute the signature");
    return HeaderList{{"cmr-x-timestamp", options.timestamp}, {"cmr-x-signature", signature}};
  }
  auto headers = sign_for_profile(options.profile, options.key, options.delivery_id,
                                  options.timestamp, options.body);
  if (headers && !options.event.empty())
    headers->emplace_back("X-GitHub-Event", options.event);
  return headers;
}

constexpr const char* kSignUsage =
    "usage: cmr-bridge sign [--profile P] [--key K | --key-env VAR] [--timestamp T] [--scheme S]\n"
    "                       [--id ID] [--event TYPE] FILE|-\n";
constexpr const char* kSendUsage =
    "usage: cmr-bridge send URL [--profile P] [--source NAME] [--key K | --key-env VAR]\n"
    "                       [--timestamp T] [--scheme S] [--id ID] [--event TYPE] FILE|-\n";

}  // namespace

int run_sign_command(const std::vector<std::string>& args) {
  const auto options = parse(args, false, kSignUsage);
  if (!options)
    return kExitConfig;
  const auto headers = signed_headers(*options);
  if (!headers) {
    std::cerr << headers.error().message() << "\n";
    return kExitConfig;
  }
  for (const auto& [name, value] : headers.value())
    std::cout << name << ": " << value << "\n";
  return kExitOk;
}

int run_send_command(const std::vector<std::string>& args) {
  const auto options = parse(args, true, kSendUsage);
  if (!options)
    return kExitConfig;
  const std::string& url = options->url;
  const auto scheme_end = url.find("://");
  const auto path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  const std::string base = path_start == std::string::npos ? url : url.substr(0, path_start);
  if (!options->source.empty() && path_start != std::string::npos) {
    std::cerr << "give either a URL with a path or --source NAME, not both\n";
    return kExitConfig;
  }
  const std::string path = !options->source.empty()          ? "/webhooks/" + options->source
                           : path_start == std::string::npos ? "/webhooks"
                                                             : url.substr(path_start);
  const auto signed_list = signed_headers(*options);
  if (!signed_list) {
    std::cerr << signed_list.error().message() << "\n";
    return kExitConfig;
  }
  const httplib::Headers headers(signed_list->begin(), signed_list->end());

  httplib::Client client(base);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(65));
  const auto result = client.Post(path, headers, options->body, "application/json");
  if (!result) {
    std::cerr << "request failed: " << httplib::to_string(result.error()) << "\n";
    return kExitRuntime;
  }
  std::cout << "HTTP " << result->status << "\n" << result->body << "\n";
  return result->status >= 200 && result->status < 300 ? 0 : 1;
}

}  // namespace cmr_bridge
