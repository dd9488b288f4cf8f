// Runs a small Java program against the Kafka Java client of the broker distribution (the jars
// deploy/local/kafka.sh fetches), for Kafka-tier checks that need the Java side's view.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cmr_bridge::test {

// Runs `command` through the shell; its standard output, or nothing when it exited non-zero.
inline std::optional<std::string> shell_output(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe)
    return std::nullopt;
  std::string out;
  std::array<char, 4096> buffer{};
  while (const std::size_t n = fread(buffer.data(), 1, buffer.size(), pipe.get()))
    out.append(buffer.data(), n);
  if (pclose(pipe.release()) != 0)
    return std::nullopt;
  return out;
}

// Compiles and runs `source` (a public class `class_name`, single-file source launch) with the
// broker distribution's jars on the class path; its standard output and error. Each argument is
// passed single-quoted. Fails the test case when the jars cannot be found or java fails.
inline std::string run_java(const std::string& class_name, const std::string& source,
                            const std::vector<std::string>& arguments) {
  const auto classpath =
      shell_output("bash '" CMR_BRIDGE_SOURCE_DIR "/deploy/local/kafka.sh' classpath 2>/dev/null");
  REQUIRE_MESSAGE(classpath, "deploy/local/kafka.sh classpath failed (jars not fetched)");
  const std::string jars = classpath->substr(0, classpath->find('\n'));
  const auto dir = std::filesystem::temp_directory_path() /
                   ("cmr-java-" + class_name + "-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / (class_name + ".java");
  std::ofstream(file) << source;
  std::string command = "java -cp '" + jars + "' '" + file.string() + "'";
  for (const auto& argument : arguments)
    command += " '" + argument + "'";
  const auto out = shell_output(command + " 2>&1");
  std::filesystem::remove_all(dir);
  REQUIRE_MESSAGE(out, "java failed: " << command);
  return *out;
}

}  // namespace cmr_bridge::test
