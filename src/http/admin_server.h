// The admin listener: liveness, readiness and metrics, on its own port so that probes and
// scrapes never queue behind webhook traffic.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cmr_bridge/config.h"

namespace cmr_bridge {

struct ReadinessCheck {
  std::string name;
  std::function<bool()> ready;  // called on the admin thread; must be cheap and thread-safe
  bool required = true;         // false: reported in the body, does not fail /readyz
};

class AdminServer {
 public:
  // `checks` make /readyz; `liveness` make /healthz (every one must hold, else 503 naming the
  // failing ones: the process is broken beyond repair and must be restarted). `metrics`
  // returns the Prometheus text exposition; called per scrape.
  AdminServer(std::vector<ReadinessCheck> checks, std::vector<ReadinessCheck> liveness,
              std::function<std::string()> metrics);
  ~AdminServer();

  int bind(const ListenAddress& address);  // bound port, or -1
  bool serve();                            // blocks until stop()
  bool is_running() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cmr_bridge
