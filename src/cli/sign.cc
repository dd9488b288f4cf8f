#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "core/signature.h"

namespace cmr_bridge {
namespace {

struct SignOptions {
  std::string key;
  std::string timestamp;
  SignatureScheme scheme = SignatureScheme::kBodyHex;
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

// Parses [--key K] [--timestamp T] [--scheme S] plus `positional_count` positionals.
// The key defaults to the first of CMR_BRIDGE_SIGNING_KEYS so it need not be typed.
std::optional<SignOptions> parse(const std::vector<std::string>& args, bool with_url,
                                 const char* usage) {
  SignOptions options;
  std::vector<std::string> positionals;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (arg == "--key" && has_value) {
      options.key = args[++i];
    } else if (arg == "--timestamp" && has_value) {
      options.timestamp = args[++i];
    } else if (arg == "--scheme" && has_value) {
      const auto scheme = parse_signature_scheme(args[++i]);
      if (!scheme || *scheme == SignatureScheme::kAuto) {
        std::cerr << "--scheme must be body-hex, body-base64, timestamp-body-hex or "
                     "timestamp-body-base64\n";
        return std::nullopt;
      }
      options.scheme = *scheme;
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
  if (with_url)
    options.url = positionals[0];
  options.file = positionals.back();
  if (options.key.empty()) {
    if (const char* keys = std::getenv("CMR_BRIDGE_SIGNING_KEYS")) {
      std::string all(keys);
      options.key = all.substr(0, all.find(','));
    }
  }
  if (options.key.empty()) {
    std::cerr << "no key: pass --key or set CMR_BRIDGE_SIGNING_KEYS\n";
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
  return options;
}

constexpr const char* kSignUsage =
    "usage: cmr-bridge sign [--key K] [--timestamp T] [--scheme S] FILE|-\n";
constexpr const char* kSendUsage =
    "usage: cmr-bridge send URL [--key K] [--timestamp T] [--scheme S] FILE|-\n";

}  // namespace

int run_sign_command(const std::vector<std::string>& args) {
  const auto options = parse(args, false, kSignUsage);
  if (!options)
    return kExitConfig;
  const auto signature =
      compute_signature(options->key, options->scheme, options->timestamp, options->body);
  std::cout << "cmr-x-timestamp: " << options->timestamp << "\n"
            << "cmr-x-signature: " << signature << "\n";
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
  const std::string path = path_start == std::string::npos ? "/webhooks" : url.substr(path_start);

  httplib::Client client(base);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(65));
  const httplib::Headers headers = {
      {"cmr-x-timestamp", options->timestamp},
      {"cmr-x-signature",
       compute_signature(options->key, options->scheme, options->timestamp, options->body)},
  };
  const auto result = client.Post(path, headers, options->body, "application/json");
  if (!result) {
    std::cerr << "request failed: " << httplib::to_string(result.error()) << "\n";
    return kExitRuntime;
  }
  std::cout << "HTTP " << result->status << "\n" << result->body << "\n";
  return result->status >= 200 && result->status < 300 ? 0 : 1;
}

}  // namespace cmr_bridge
