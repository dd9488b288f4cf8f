#include "app/startup.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>

#include "config/env_config.h"
#include "config/file_loaders.h"

extern char** environ;

namespace cmr_bridge {

std::map<std::string, std::string> read_environment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const auto eq = text.find('=');
    if (eq != std::string::npos)
      env.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return env;
}

Result<CredentialPolicy> load_credential_policy(const Config& config) {
  CredentialPolicy policy;
  policy.mode = config.credentials;
  for (const auto& field : config.credential_fields) {
    (field.front() == '/' ? policy.pointers : policy.names).push_back(field);
  }
  std::string text = config.encryption_keys;
  std::string variable = "CMR_BRIDGE_ENCRYPTION_KEYS";
  if (!config.encryption_keys_file.empty()) {
    variable = "CMR_BRIDGE_ENCRYPTION_KEYS_FILE";
    std::ifstream in(config.encryption_keys_file, std::ios::binary);
    if (!in)
      return Error(variable + ": cannot read " + config.encryption_keys_file);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
      text.pop_back();
  }
  if (!text.empty()) {
    auto keys = parse_encryption_keys(text);
    if (!keys)
      return Error(variable + ": " + keys.error().message());
    policy.keys = std::move(keys).value();
  } else if (policy.mode == CredentialMode::kEncrypt) {
    return Error("CMR_BRIDGE_ENCRYPTION_KEYS: required when CMR_BRIDGE_CREDENTIALS=encrypt");
  }
  return policy;
}

Result<StartupState> load_startup_state(const std::string& executable,
                                        std::map<std::string, std::string> env) {
  StartupState state;
  auto loaded = load_config(env);
  if (!loaded)
    return loaded.error();
  state.config = std::move(loaded->config);
  state.warnings = std::move(loaded->warnings);
  state.config.schema_dir = resolve_schema_dir(state.config.schema_dir, executable);
  auto routes = load_routes(state.config);
  if (!routes)
    return routes.error();
  state.routes = std::make_unique<RouteTable>(
      RouteTable::with_overrides(std::move(routes).value(), state.config.topics));
  std::vector<std::string> errors;
  if (auto credentials = load_credential_policy(state.config))
    state.credentials = std::move(*credentials);
  else
    errors.push_back(credentials.error().message());
  if (auto schemas = load_schemas(state.config.schema_dir, *state.routes))
    state.schemas = std::move(schemas.value());
  else
    errors.push_back(schemas.error().message());
  if (auto sources = load_sources(state.config, env))
    state.sources = std::move(sources.value());
  else
    errors.insert(errors.end(), sources.error().messages().begin(),
                  sources.error().messages().end());
  if (!errors.empty())
    return Error(std::move(errors));
  return state;
}

Result<std::unique_ptr<SignatureVerifier>> create_verifier(const Config& config) {
  auto verifier = SignatureVerifier::create(config.signing_keys, config.signature_scheme);
  if (!verifier)
    return Error("CMR_BRIDGE_SIGNING_KEYS: " + verifier.error().message());
  return verifier;
}

PipelineSettings pipeline_settings_for(const StartupState& state) {
  const Config& config = state.config;
  PipelineSettings settings;
  settings.cloudevents.source = config.cloudevents_source;
  settings.credentials = state.credentials;
  settings.cloudevents.mode = config.record_format == RecordFormat::kCloudEventsBinary
                                  ? CloudEventsMode::kBinary
                                  : CloudEventsMode::kStructured;
  settings.timestamp_tolerance = config.timestamp_tolerance;
  // A little longer than librdkafka's own message timeout, so the definitive report
  // (delivered or failed) usually arrives before we stop waiting.
  settings.delivery_timeout = config.delivery_timeout + std::chrono::milliseconds(250);
  settings.deadletter_topic = config.topics.deadletter;
  return settings;
}

sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

WebhookServerSettings webhook_settings_for(const Config& config) {
  WebhookServerSettings settings;
  settings.max_body_bytes = config.max_body_bytes;
  settings.threads = config.http_threads;
  settings.max_in_flight = config.max_in_flight;
  settings.read_timeout = config.read_timeout;
  settings.tls_cert_file = config.tls_cert_file;
  settings.tls_key_file = config.tls_key_file;
  settings.access_log = config.access_log;
  settings.keep_alive_timeout = std::min(config.read_timeout, std::chrono::seconds(5));
  // In-flight requests wait at most one delivery timeout on Kafka; the producer flush after the
  // drain takes at most another, inside the chart's termination grace period.
  settings.drain_timeout =
      std::chrono::ceil<std::chrono::seconds>(config.delivery_timeout) + std::chrono::seconds(1);
  return settings;
}

}  // namespace cmr_bridge
