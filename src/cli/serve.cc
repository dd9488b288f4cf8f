#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>

#include "app/bridge.h"
#include "cli/commands.h"
#include "config/env_config.h"
#include "log/logger.h"

namespace cmr_bridge {
namespace {

// Set by a background failure that must stop the process (e.g. the dedup topic is not
// compacted), which then raises SIGTERM so the one shutdown path of serve() runs.
std::atomic<bool> fatal_failure{false};

void stop_on_fatal(const std::string& reason) {
  log_error("fatal", {{"detail", reason}});
  fatal_failure.store(true);
  kill(getpid(), SIGTERM);
}

void log_settings(const StartupState& state) {
  for (const auto& [name, value] : describe_config(state.config))
    log_info("config", {{"setting", name}, {"value", value}});
  for (const auto& source : state.config.sources)
    log_info("source", {{"name", source.name},
                        {"profile", source.profile},
                        {"path", "/webhooks/" + source.name},
                        {"routes", static_cast<int64_t>(source.routes.size())}});
  for (const auto& warning : state.warnings)
    log_warn("config warning", {{"detail", warning}});
}

// Blocks until SIGTERM or SIGINT (all threads have them blocked); returns the signal.
int wait_for_signal(const sigset_t& signals) {
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

// Sleeps for `delay`, or less when another stop signal arrives.
void wait_for_signal(const sigset_t& signals, std::chrono::seconds delay) {
  struct timespec timeout {
    static_cast<time_t>(delay.count()), 0
  };
  siginfo_t info;
  sigtimedwait(&signals, &info, &timeout);
}

}  // namespace

int serve_with_publisher(const std::string& executable, std::unique_ptr<Publisher> publisher) {
  auto state = load_startup_state(executable);
  if (!state)
    return report_config_error(state.error());
  set_log_level(state->config.log_level);
  // Taken by sigwait() on this thread only: blocked before any other thread starts.
  const sigset_t signals = block_stop_signals();
  log_settings(*state);

  auto bridge = Bridge::build(
      std::move(*state),
      {.role = BridgeRole::kServe, .publisher = std::move(publisher), .on_fatal = stop_on_fatal});
  if (!bridge)
    return report_config_error(bridge.error());
  const auto ports = (*bridge)->listen();
  if (!ports)
    return kExitRuntime;
  log_info("listening", {{"webhook_port", ports->webhook},
                         {"admin_port", ports->admin},
                         {"version", CMR_BRIDGE_VERSION}});

  const int received = wait_for_signal(signals);
  log_info("shutting down", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"},
                             {"fatal", fatal_failure.load()}});
  // Load balancers see /readyz fail and stop sending; until then new requests are served.
  (*bridge)->begin_draining();
  const std::chrono::seconds drain_delay = (*bridge)->config().drain_delay;
  if (!fatal_failure.load() && drain_delay.count() > 0) {
    log_info("draining", {{"delay_s", static_cast<int64_t>(drain_delay.count())}});
    wait_for_signal(signals, drain_delay);
  }
  // After a fatal failure the spool is not forwarded: it keeps its records for the next start.
  const bool flushed = (*bridge)->shutdown(!fatal_failure.load());
  log_info("stopped", {{"producer_flushed", flushed}});
  return fatal_failure.load() ? kExitRuntime : kExitOk;
}

int run_serve_command(const std::string& executable, const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::cerr << "serve takes no arguments; configure with environment variables (--help)\n";
    return kExitConfig;
  }
  return serve_with_publisher(executable, nullptr);
}

}  // namespace cmr_bridge
