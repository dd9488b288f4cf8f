#include "support/bridge_process.h"

#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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

// The environment of a child cmr-bridge: `defaults`, then the caller's variables except its
// CMR_BRIDGE_* ones, then `env` (which wins).
class ChildEnvironment {
 public:
  ChildEnvironment(std::map<std::string, std::string> defaults,
                   const std::map<std::string, std::string>& env) {
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string text(*entry);
      const auto eq = text.find('=');
      if (eq != std::string::npos && text.rfind("CMR_BRIDGE_", 0) != 0)
        defaults.emplace(text.substr(0, eq), text.substr(eq + 1));
    }
    for (const auto& [name, value] : env)
      defaults[name] = value;
    for (const auto& [name, value] : defaults)
      storage_.push_back(name + "=" + value);
    for (auto& entry : storage_)
      pointers_.push_back(entry.data());
    pointers_.push_back(nullptr);
  }
  char** envp() { return pointers_.data(); }

 private:
  std::vector<std::string> storage_;
  std::vector<char*> pointers_;
};

// Reads `out_fd` and `err_fd` to their ends (both at once, so neither pipe fills and blocks
// the child); closes them.
void read_both(int out_fd, int err_fd, std::string& out, std::string& err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open_count = 2;
  char buffer[8192];
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0)
        continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
}
}  // namespace

CommandResult run_command(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env, const std::string& input) {
  ChildEnvironment environment({}, env);
  std::string binary = CMR_BRIDGE_BINARY;
  std::vector<std::string> words = args;
  std::vector<char*> argv = {binary.data()};
  for (auto& word : words)
    argv.push_back(word.data());
  argv.push_back(nullptr);

  int in[2];
  int out[2];
  int err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  for (int fd : {in[1], out[0], err[0]})
    posix_spawn_file_actions_addclose(&actions, fd);
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environment.envp());
  posix_spawn_file_actions_destroy(&actions);
  for (int fd : {in[0], out[1], err[1]})
    close(fd);
  if (rc != 0) {
    for (int fd : {in[1], out[0], err[0]})
      close(fd);
    throw std::runtime_error(std::string("posix_spawn failed: ") + std::strerror(rc));
  }
  // SIGPIPE blocked on this thread only: a child that exits without reading its input must not
  // kill the test (the signal stays pending on the thread and ends with it).
  std::thread writer([fd = in[1], &input] {
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    for (std::size_t at = 0; at < input.size();) {
      const ssize_t n = write(fd, input.data() + at, input.size() - at);
      if (n <= 0)
        break;
      at += static_cast<std::size_t>(n);
    }
    close(fd);
  });
  CommandResult result;
  read_both(out[0], err[0], result.out, result.err);
  writer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

BridgeProcess::BridgeProcess(const std::map<std::string, std::string>& env) {
  ChildEnvironment environment({{"CMR_BRIDGE_LISTEN", "127.0.0.1:0"},
                                {"CMR_BRIDGE_ADMIN_LISTEN", "127.0.0.1:0"},
                                {"CMR_BRIDGE_DRAIN_DELAY_S", "0"}},
                               env);

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
  const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, environment.envp());
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
      // The pipe may still hold the last lines: output_lines() after wait_exit() sees them all.
      std::unique_lock lock(mutex_);
      line_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return eof_; });
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
