#include "log/thread_name.h"

#include <doctest/doctest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

using namespace cmr_bridge;

namespace {

// What `top -H` and perf show for the calling thread.
std::string kernel_name_of_this_thread() {
  std::ifstream comm("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

}  // namespace

TEST_SUITE("thread names") {
  TEST_CASE("a named thread shows its name to the kernel, cut to Linux's 15 characters") {
    std::string short_name;
    std::string long_name;
    std::thread([&] {
      name_this_thread("http-worker");
      short_name = kernel_name_of_this_thread();
      name_this_thread("a-name-longer-than-fifteen");
      long_name = kernel_name_of_this_thread();
    }).join();
    CHECK(short_name == "http-worker");
    CHECK(long_name == "a-name-longer-t");
  }
}
