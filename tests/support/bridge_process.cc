#include "support/bridge_process.h"

#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

extern char** environ;

namespace cmr_bridge::test {
namespace {
int json_int_field(const std::string& line, const std::string& name) {
  const auto at = line.find("\"" + name + "\":");
  if (at == std::string::npos)
    return -1;
  return std::atoi(line.c_str() + at + name.size() + 3);
}
}  // namespace

BridgeProcess::BridgeProcess(const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> merged = {{"CMR_BRIDGE_LISTEN", "127.0.0.1:0"},
                                               {"CMR_BRIDGE_ADMIN_LISTEN", "127.0.0.1:0"},
                                               {"CMR_BRIDGE_DRAIN_DELAY_S", "0"}};
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const auto eq = text.find('=');
    if (eq != std::string::npos && text.rfind("CMR_BRIDGE_", 0) != 0) {
      merged.emplace(text.substr(0, eq), text.substr(eq + 1));
    }
  }
  for (const auto& [name, value] : env)
    merged[name] = value;
  std::vector<std::string> storage;
  for (const auto& [name, value] : merged)
    storage.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : storage)
    envp.push_back(entry.data());
  envp.push_back(nullptr);

  int fds[2];
  if (pipe(fds) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::string binary = CMR_BRIDGE_BINARY;
  char* argv[] = {binary.data(), nullptr};
  const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error(std::string("posix_spawn failed: ") + std::strerror(rc));
  }
  reader_ = std::thread([this, fd = fds[0]] { read_output(fd); });
}

BridgeProcess::~BridgeProcess() {
  if (!exit_code_) {
    signal(SIGTERM);
    if (wait_exit(std::chrono::seconds(20)) < 0) {
      signal(SIGKILL);
      wait_exit(std::chrono::seconds(5));
    }
  }
  reader_.join();
}

void BridgeProcess::read_output(int fd) {
  std::string pending;
  char buffer[8192];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0)
      break;
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline = 0;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::lock_guard lock(mutex_);
      lines_.push_back(pending.substr(0, newline));
      pending.erase(0, newline + 1);
      line_cv_.notify_all();
    }
  }
  close(fd);
  std::lock_guard lock(mutex_);
  if (!pending.empty())
    lines_.push_back(pending);
  eof_ = true;
  line_cv_.notify_all();
}

bool BridgeProcess::wait_listening(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::size_t seen = 0;
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (; seen < lines_.size(); ++seen) {
      if (lines_[seen].find("\"msg\":\"listening\"") != std::string::npos) {
        port_ = json_int_field(lines_[seen], "webhook_port");
        admin_port_ = json_int_field(lines_[seen], "admin_port");
        return port_ > 0 && admin_port_ > 0;
      }
    }
    if (eof_)
      return false;
    if (line_cv_.wait_until(lock, until) == std::cv_status::timeout)
      return false;
  }
}

bool BridgeProcess::wait_ready(std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  httplib::Client client("127.0.0.1", admin_port_);
  client.set_connection_timeout(std::chrono::seconds(1));
  while (std::chrono::steady_clock::now() < until) {
    const auto res = client.Get("/readyz");
    if (res && res->status == 200)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void BridgeProcess::signal(int signo) const {
  if (pid_ > 0 && !exit_code_)
    kill(pid_, signo);
}

int BridgeProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_)
    return *exit_code_;
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return *exit_code_;
    }
    if (std::chrono::steady_clock::now() >= until)
      return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> BridgeProcess::output_lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

}  // namespace cmr_bridge::test
