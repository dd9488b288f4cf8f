#include "kafka/topic_provisioner.h"

#include "kafka/record_size.h"
#include "log/logger.h"

namespace cmr_bridge {

Result<std::unique_ptr<TopicProvisioner>> TopicProvisioner::create(
    const KafkaSettings& kafka, KafkaPublisher& publisher, std::vector<TopicSpec> topics,
    bool create_missing, TopicChecks checks, std::function<void(const std::string&)> on_fatal) {
  auto admin = KafkaAdmin::create(kafka);
  if (!admin)
    return admin.error();
  return std::unique_ptr<TopicProvisioner>(
      new TopicProvisioner(std::move(admin).value(), publisher, std::move(topics), create_missing,
                           std::move(checks), std::move(on_fatal)));
}

TopicProvisioner::TopicProvisioner(std::unique_ptr<KafkaAdmin> admin, KafkaPublisher& publisher,
                                   std::vector<TopicSpec> topics, bool create_missing,
                                   TopicChecks checks,
                                   std::function<void(const std::string&)> on_fatal)
    : admin_(std::move(admin)),
      publisher_(publisher),
      topics_(std::move(topics)),
      create_missing_(create_missing),
      checks_(std::move(checks)),
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
  provision();
  admin_.reset();
}

bool TopicProvisioner::provision() {
  while (!stop_.load()) {
    if (!publisher_.wait_reachable(std::chrono::milliseconds(500)))
      continue;
    if (create_missing_) {
      const Status created = admin_->create_missing_topics(topics_, std::chrono::seconds(10));
      if (!created) {
        log_warn("creating topics failed; retrying", {{"detail", created.error().message()}});
        if (!pause(std::chrono::seconds(5)))
          return false;
        continue;
      }
      log_info("topics ready", {{"count", static_cast<int64_t>(topics_.size())}});
    }
    const auto failure = check_topics();
    if (failure && !failure->empty()) {
      on_fatal_(*failure);
      return false;
    }
    if (failure) {
      std::vector<std::string> names;
      for (const auto& topic : topics_)
        names.push_back(topic.name);
      publisher_.prepare_topics(names, std::chrono::seconds(5));
      // Operators and the tests read this line as "the topics' metadata is known"; it is written
      // before publishing may start, so every line about publishing follows it.
      log_info("topics prepared", {{"count", static_cast<int64_t>(topics_.size())}});
      done_.store(true);
      return true;
    }
    if (!pause(std::chrono::seconds(5)))
      return false;
  }
  return false;
}

std::optional<std::string> TopicProvisioner::check_topics() {
  for (const auto& topic : checks_.must_be_compacted) {
    const auto policy = admin_->topic_config(topic, "cleanup.policy", std::chrono::seconds(10));
    if (!policy) {
      log_warn("checking topic config failed; retrying",
               {{"topic", topic}, {"detail", policy.error().message()}});
      return std::nullopt;
    }
    if (policy->find("compact") == std::string::npos) {
      return "topic " + topic + " has cleanup.policy=" + policy.value() +
             "; it must include compact (e.g. compact,delete)";
    }
  }
  for (const auto& topic : checks_.must_fit_records) {
    auto limit = admin_->topic_config(topic, "max.message.bytes", std::chrono::seconds(10));
    if (!limit && create_missing_) {
      log_warn("checking topic config failed; retrying",
               {{"topic", topic}, {"detail", limit.error().message()}});
      return std::nullopt;
    }
    if (!limit) {
      // Nobody creates topics, so this one may be missing for good: its records are refused
      // as permanent failures at publish (dead-lettered); it does not hold up readiness.
      log_warn("max.message.bytes not checked",
               {{"topic", topic}, {"detail", limit.error().message()}});
      continue;
    }
    const Status fits = check_topic_fits_records(topic, *limit, checks_.max_body_bytes);
    if (!fits) {
      log_warn("topic max.message.bytes below the largest record",
               {{"topic", topic},
                {"max_message_bytes", limit.value()},
                {"largest_record_bytes",
                 static_cast<int64_t>(largest_record_bytes(checks_.max_body_bytes))},
                {"detail", fits.error().message()}});
    }
    std::lock_guard lock(fit_mutex_);
    std::erase_if(record_fit_, [&](const auto& entry) { return entry.first == topic; });
    record_fit_.emplace_back(topic, !fits);
  }
  return std::string();
}

void TopicProvisioner::report_gauges(GaugeSink& sink) const {
  std::lock_guard lock(fit_mutex_);
  for (const auto& [topic, too_small] : record_fit_)
    sink.set_for_topic(TopicGauge::kMaxMessageBytesTooSmall, topic, too_small ? 1 : 0);
}

}  // namespace cmr_bridge
