// Runs the real cmr-bridge binary as a child process for the Kafka and fault tiers:
// loopback ports chosen by the bridge (port 0), output captured line by line.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cmr_bridge::test {

// What a finished cmr-bridge command left: its exit code (128+N for signal N) and its output.
struct CommandResult {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};

// Runs `cmr-bridge <args>` to its end with `env` added to the current environment (as for
// BridgeProcess: the caller's CMR_BRIDGE_* variables are not inherited) and `input` on its
// standard input. Throws std::runtime_error when it cannot be started.
CommandResult run_command(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env,
                          const std::string& input = "");

class BridgeProcess {
 public:
  // `env` is added to the current environment (and wins); listeners default to 127.0.0.1:0.
  explicit BridgeProcess(const std::map<std::string, std::string>& env);
  // Sends SIGTERM, waits up to 20 s, then SIGKILL.
  ~BridgeProcess();
  BridgeProcess(const BridgeProcess&) = delete;
  BridgeProcess& operator=(const BridgeProcess&) = delete;

  // Waits for the "listening" log line and reads the bound ports from it.
  bool wait_listening(std::chrono::milliseconds timeout);
  // Polls GET /readyz until it answers 200.
  bool wait_ready(std::chrono::milliseconds timeout) const;
  void signal(int signo) const;
  // Exit code once exited (-1 if still running at the deadline; 128+N for signal N); once it
  // returns an exit code, output_lines() holds every line the process wrote.
  int wait_exit(std::chrono::milliseconds timeout);
  std::vector<std::string> output_lines() const;

  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  pid_t pid() const { return pid_; }

 private:
  void read_output(int fd);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  int port_ = -1;
  int admin_port_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable line_cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

}  // namespace cmr_bridge::test
