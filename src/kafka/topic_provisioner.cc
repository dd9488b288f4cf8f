#include "kafka/topic_provisioner.h"

#include "log/logger.h"

namespace cmr_bridge {

TopicProvisioner::TopicProvisioner(KafkaPublisher& publisher, std::vector<TopicSpec> topics,
                                   bool create, std::vector<std::string> must_be_compacted,
                                   std::function<void(const std::string&)> on_fatal)
    : publisher_(publisher),
      topics_(std::move(topics)),
      create_(create),
      must_be_compacted_(std::move(must_be_compacted)),
      on_fatal_(std::move(on_fatal)),
      thread_([this] { run(); }) {}

TopicProvisioner::~TopicProvisioner() {
  stop_.store(true);
  thread_.join();
}

bool TopicProvisioner::pause(std::chrono::milliseconds d) {
  for (auto waited = std::chrono::milliseconds(0); waited < d && !stop_.load();
       waited += std::chrono::milliseconds(100)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return !stop_.load();
}

void TopicProvisioner::run() {
  while (!stop_.load()) {
    if (!publisher_.wait_reachable(std::chrono::milliseconds(500)))
      continue;
    if (create_) {
      const std::string error = publisher_.ensure_topics(topics_, std::chrono::seconds(10));
      if (!error.empty()) {
        log_warn("creating topics failed; retrying", {{"detail", error}});
        if (!pause(std::chrono::seconds(5)))
          return;
        continue;
      }
      log_info("topics ready", {{"count", static_cast<int64_t>(topics_.size())}});
    }
    bool checked = true;
    for (const auto& topic : must_be_compacted_) {
      std::string error;
      const auto policy =
          publisher_.topic_config(topic, "cleanup.policy", std::chrono::seconds(10), &error);
      if (!policy) {
        log_warn("checking topic config failed; retrying", {{"topic", topic}, {"detail", error}});
        checked = false;
        break;
      }
      if (policy->find("compact") == std::string::npos) {
        on_fatal_("topic " + topic + " has cleanup.policy=" + *policy +
                  "; it must include compact (e.g. compact,delete)");
        return;
      }
    }
    if (checked) {
      std::vector<std::string> names;
      for (const auto& topic : topics_)
        names.push_back(topic.name);
      publisher_.prepare_topics(names, std::chrono::seconds(5));
      done_.store(true);
      return;
    }
    if (!pause(std::chrono::seconds(5)))
      return;
  }
}

}  // namespace cmr_bridge
