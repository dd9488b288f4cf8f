#include "kafka/kafka_publisher.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "kafka/delivery_signal.h"
#include "kafka/kafka_client.h"
#include "kafka/rdkafka_handles.h"
#include "kafka/record_size.h"
#include "log/logger.h"
#include "log/thread_name.h"

namespace cmr_bridge {
namespace {

// One per in-flight record. Shared by the publishing thread (which may stop waiting at its
// deadline) and the poll thread (which fills `report`, then sets `delivered`).
struct DeliveryWaiter {
  DeliverySignal delivered;
  DeliveryReport report;  // written by the poll thread before `delivered` is set
  // Whoever moves this from kPending first decides: the poll thread (kReported) or the
  // publishing thread giving up at its deadline (kAbandoned).
  static constexpr int kPending = 0, kReported = 1, kAbandoned = 2;
  std::atomic<int> outcome{kPending};
};
using WaiterRef = std::shared_ptr<DeliveryWaiter>;

std::atomic<uint64_t> g_detached_failures{0};
std::atomic<uint64_t> g_possibly_persisted{0};

// A record the caller was told is not delivered, although the broker may hold it: the claim is
// released, so a retry or the spool writes it again (the documented at-least-once duplicate).
// The line names the record's eventId (its cmr-event-id header; the access log names it too)
// so that a duplicate found on the topic can be traced to it.
void count_possibly_persisted(const rd_kafka_message_t* message, const char* why) {
  g_possibly_persisted.fetch_add(1, std::memory_order_relaxed);
  std::string event_id;
  rd_kafka_headers_t* headers = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_header_get_last(headers, "cmr-event-id", &value, &size) ==
          RD_KAFKA_RESP_ERR_NO_ERROR &&
      value != nullptr)
    event_id.assign(static_cast<const char*>(value), size);
  log_warn("record possibly persisted although reported as not delivered",
           {{"topic", rd_kafka_topic_name(message->rkt)},
            {"partition", static_cast<int64_t>(message->partition)},
            {"eventId", event_id},
            {"code", rd_kafka_err2name(message->err)},
            {"why", why}});
}

// What librdkafka's callbacks (delivery report, error) need, as the client's opaque. Lives in
// KafkaPublisher::Impl, declared before the handle, so it outlives every callback.
struct CallbackState {
  bool unknown_topic_is_permanent = false;  // constant after create()
  std::function<void(const std::string&)> on_fatal;
  std::atomic<bool> fatal{false};
};

// Runs on the poll thread. A fatal error of the idempotent producer is raised once; every later
// produce fails with ERR__FATAL (a transient failure: 503, or spooled).
void on_error(rd_kafka_t* client, int err, const char* reason, void* opaque) {
  log_client_error(client, err, reason);
  if (err != RD_KAFKA_RESP_ERR__FATAL)
    return;
  auto& state = *static_cast<CallbackState*>(opaque);
  if (state.fatal.exchange(true))
    return;
  char detail[512];
  const auto fatal = rd_kafka_fatal_error(client, detail, sizeof detail);
  if (state.on_fatal) {
    state.on_fatal(std::string("Kafka producer fatal error ") + rd_kafka_err2name(fatal) + ": " +
                   detail + "; the producer cannot continue, the process must restart");
  }
}

// Runs on the poll thread (or the thread in flush/destroy). Takes back the reference that
// publish() handed to librdkafka as the message opaque; detached records have none.
void on_delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  std::unique_ptr<WaiterRef> ref(static_cast<WaiterRef*>(message->_private));
  if (!ref) {
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      g_detached_failures.fetch_add(1, std::memory_order_relaxed);
      log_warn("detached record not delivered", {{"topic", rd_kafka_topic_name(message->rkt)},
                                                 {"code", rd_kafka_err2name(message->err)}});
    }
    return;
  }
  DeliveryWaiter& waiter = **ref;
  const bool possibly_persisted =
      message->err == RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_message_status(message) != RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    waiter.report.status = DeliveryStatus::kDelivered;
    waiter.report.partition = message->partition;
    waiter.report.offset = message->offset;
  } else {
    waiter.report.status = failure_status(
        message->err, static_cast<CallbackState*>(opaque)->unknown_topic_is_permanent);
    waiter.report.error = rd_kafka_err2str(message->err);
  }
  int pending = DeliveryWaiter::kPending;
  if (!waiter.outcome.compare_exchange_strong(pending, DeliveryWaiter::kReported,
                                              std::memory_order_acq_rel)) {
    // The caller gave up at its deadline and answered "not delivered".
    if (possibly_persisted)
      count_possibly_persisted(message, "delivered after the caller's deadline");
    return;
  }
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR && possibly_persisted)
    count_possibly_persisted(message, "failed with status possibly persisted");
  waiter.delivered.set();
}

// Hands one record to librdkafka (copying it); `opaque` comes back in its delivery report.
rd_kafka_resp_err_t enqueue(rd_kafka_t* producer, const Record& record, void* opaque) {
  rdkafka::HeadersPtr headers(rd_kafka_headers_new(record.headers.size()));
  for (const auto& header : record.headers) {
    rd_kafka_header_add(headers.get(), header.name.data(), static_cast<ssize_t>(header.name.size()),
                        header.value.data(), static_cast<ssize_t>(header.value.size()));
  }
  const void* key = record.key.empty() ? nullptr : record.key.data();
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      producer, RD_KAFKA_V_TOPIC(record.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(const_cast<void*>(key), record.key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
      RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  // Enqueued: librdkafka owns the headers now. Not enqueued: they are still ours.
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    static_cast<void>(headers.release());
  return err;
}

}  // namespace

DeliveryStatus failure_status(int librdkafka_error_code, bool unknown_topic_is_permanent) {
  switch (static_cast<rd_kafka_resp_err_t>(librdkafka_error_code)) {
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return unknown_topic_is_permanent ? DeliveryStatus::kRejected : DeliveryStatus::kFailed;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return DeliveryStatus::kQueueFull;
    // The record is larger than the producer's message.max.bytes or the topic's
    // max.message.bytes: it stays too large on every retry.
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return DeliveryStatus::kRejected;
    default:
      return DeliveryStatus::kFailed;
  }
}

struct KafkaPublisher::Impl {
  ProducerSettings settings;
  CallbackState callbacks;  // the client's opaque: declared before `handle`, so it outlives it
  rdkafka::ClientPtr handle;
  std::mutex prepared_mutex;
  std::vector<rdkafka::TopicPtr> prepared_topics;  // released before `handle` (declared after it)
  std::atomic<bool> stopping{false};
  std::thread poller;
  std::thread prober;
  mutable std::mutex probe_mutex;
  mutable std::condition_variable probe_cv;
};

KafkaPublisher::KafkaPublisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<KafkaPublisher>> KafkaPublisher::create(const ProducerSettings& settings) {
  rdkafka::Properties properties = {
      // A 2xx is a durability promise: every replica in sync must have the record, and
      // retries must not duplicate or reorder it.
      {"enable.idempotence", "true"},
      {"acks", "all"},
      // Same partition for the same key as the Java clients (librdkafka defaults to CRC32).
      {"partitioner", "murmur2_random"},
      // No linger: a lone request's record is sent at once (as franz-go's ProduceSync does);
      // under load records still batch while produce requests are in flight. Measured: p50
      // at one connection 3-6 ms -> 0.6-0.8 ms (docs/performance.md).
      {"linger.ms", "0"},
      // Every 2xx waits on a produce round trip: send requests at once, as the Java clients
      // do (TCP_NODELAY). Measured: +2 % throughput at 64 connections, within the noise.
      {"socket.nagle.disable", "true"},
      {"compression.type", "lz4"},
      // librdkafka's 300 s default is far beyond the sender's 60 s patience.
      {"message.timeout.ms", std::to_string(settings.message_timeout.count())},
      {"socket.connection.setup.timeout.ms", "5000"},
      {"log.connection.close", "false"},
  };
  // The largest accepted body must stay publishable: librdkafka refuses a record above its
  // message.max.bytes before sending it.
  auto message_max_bytes = producer_message_max_bytes(settings.kafka, settings.max_body_bytes);
  if (!message_max_bytes)
    return message_max_bytes.error();
  if (*message_max_bytes) {
    properties.emplace_back("message.max.bytes", **message_max_bytes);
    log_warn("producer message.max.bytes raised to fit the largest record",
             {{"message.max.bytes", **message_max_bytes},
              {"max_body_bytes", static_cast<int64_t>(settings.max_body_bytes)}});
  }
  auto conf = kafka_client_conf(settings.kafka, KafkaClientRole::kProducer, properties);
  if (!conf)
    return conf.error();
  if (!settings.kafka.create_topics) {
    // Nobody creates a missing topic: one still unknown after this long fails its records with
    // a permanent error (dead-lettered) instead of timing them out as transient. librdkafka's
    // default is 30 s, far beyond the delivery timeout.
    const std::string propagation =
        std::to_string(std::max<int64_t>(settings.message_timeout.count() / 2, 1));
    char error[256];
    if (rd_kafka_conf_set(conf->get(), "topic.metadata.propagation.max.ms", propagation.c_str(),
                          error, sizeof error) != RD_KAFKA_CONF_OK)
      return Error(std::string("topic.metadata.propagation.max.ms: ") + error);
  }
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  impl->callbacks.unknown_topic_is_permanent = !settings.kafka.create_topics;
  impl->callbacks.on_fatal = settings.on_fatal;
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &on_delivery_report);
  rd_kafka_conf_set_error_cb(conf->get(), &on_error);
  rd_kafka_conf_set_opaque(conf->get(), &impl->callbacks);
  auto handle = rdkafka::new_client(RD_KAFKA_PRODUCER, std::move(conf).value());
  if (!handle)
    return handle.error();

  impl->handle = std::move(handle).value();
  std::unique_ptr<KafkaPublisher> publisher(new KafkaPublisher(std::move(impl)));
  Impl* state = publisher->impl_.get();
  std::atomic<bool>* reachable = &publisher->reachable_;

  state->poller = std::thread([state] {
    name_this_thread("kafka-reports");
    while (!state->stopping.load(std::memory_order_acquire)) {
      rd_kafka_poll(state->handle.get(), 100);
    }
  });
  state->prober = std::thread([state, reachable] {
    name_this_thread("kafka-probe");
    bool last = false;
    bool first = true;
    while (!state->stopping.load(std::memory_order_acquire)) {
      const rd_kafka_metadata_t* answer = nullptr;
      const auto err = rd_kafka_metadata(state->handle.get(), 0, nullptr, &answer, 2000);
      const rdkafka::MetadataPtr metadata(answer);
      bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR && metadata && metadata->broker_cnt > 0;
      if (rd_kafka_fatal_error(state->handle.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ok = false;
      }
      reachable->store(ok, std::memory_order_release);
      if (first || ok != last) {
        if (ok) {
          log_info("kafka reachable", {{"brokers", state->settings.kafka.brokers}});
        } else {
          log_warn("kafka unreachable",
                   {{"brokers", state->settings.kafka.brokers}, {"code", rd_kafka_err2name(err)}});
        }
      }
      first = false;
      last = ok;
      std::unique_lock lock(state->probe_mutex);
      state->probe_cv.notify_all();
      state->probe_cv.wait_for(lock, state->settings.probe_interval,
                               [state] { return state->stopping.load(); });
    }
  });
  return publisher;
}

KafkaPublisher::~KafkaPublisher() {
  flush(impl_->settings.message_timeout);
  {
    std::lock_guard lock(impl_->probe_mutex);
    impl_->stopping.store(true, std::memory_order_release);
  }
  impl_->probe_cv.notify_all();
  impl_->poller.join();
  impl_->prober.join();
  // Whatever is still queued fails now, so no waiter is left hanging and every opaque is freed.
  rd_kafka_purge(impl_->handle.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  for (int i = 0; i < 50 && rd_kafka_outq_len(impl_->handle.get()) > 0; ++i) {
    rd_kafka_poll(impl_->handle.get(), 100);
  }
}

DeliveryReport KafkaPublisher::publish(const Record& record, std::chrono::milliseconds deadline) {
  const auto give_up_at = std::chrono::steady_clock::now() + deadline;
  auto waiter = std::make_shared<DeliveryWaiter>();
  auto opaque = std::make_unique<WaiterRef>(waiter);

  const rd_kafka_resp_err_t err = enqueue(impl_->handle.get(), record, opaque.get());
  DeliveryReport report;
  report.topic = record.topic;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Not enqueued: the opaque is still ours (freed by its unique_ptr).
    report.status = failure_status(err, impl_->callbacks.unknown_topic_is_permanent);
    report.error = rd_kafka_err2str(err);
    return report;
  }
  opaque.release();  // returned to us in on_delivery_report

  int pending = DeliveryWaiter::kPending;
  if (!waiter->delivered.wait_until(give_up_at) &&
      waiter->outcome.compare_exchange_strong(pending, DeliveryWaiter::kAbandoned,
                                              std::memory_order_acq_rel)) {
    report.status = DeliveryStatus::kTimedOut;
    report.error = "no delivery report before the deadline";
    return report;
  }
  // Reported (possibly just as the deadline passed): the report is complete once set.
  waiter->delivered.wait_until(std::chrono::steady_clock::time_point::max());
  report.status = waiter->report.status;
  report.partition = waiter->report.partition;
  report.offset = waiter->report.offset;
  report.error = std::move(waiter->report.error);
  return report;
}

bool KafkaPublisher::publish_detached(const Record& record) {
  const rd_kafka_resp_err_t err = enqueue(impl_->handle.get(), record, nullptr);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    g_detached_failures.fetch_add(1, std::memory_order_relaxed);
    log_warn("detached record not enqueued",
             {{"topic", record.topic}, {"code", rd_kafka_err2name(err)}});
    return false;
  }
  return true;
}

uint64_t KafkaPublisher::detached_failures() const {
  return g_detached_failures.load(std::memory_order_relaxed);
}

uint64_t KafkaPublisher::possibly_persisted() const {
  return g_possibly_persisted.load(std::memory_order_relaxed);
}

bool KafkaPublisher::reachable() const {
  return reachable_.load(std::memory_order_acquire) && !fatal();
}

bool KafkaPublisher::fatal() const {
  return impl_->callbacks.fatal.load(std::memory_order_acquire);
}

Status KafkaPublisher::raise_fatal_error_for_test() {
  const auto err =
      rd_kafka_test_fatal_error(impl_->handle.get(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                "raised by a test (rd_kafka_test_fatal_error)");
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Error(std::string("rd_kafka_test_fatal_error: ") + rd_kafka_err2str(err));
  return ok_status();
}

bool KafkaPublisher::wait_reachable(std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(impl_->probe_mutex);
  while (!reachable()) {
    if (impl_->probe_cv.wait_until(lock, until) == std::cv_status::timeout)
      return reachable();
  }
  return true;
}

void KafkaPublisher::prepare_topics(const std::vector<std::string>& topics,
                                    std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(impl_->prepared_mutex);
    for (const auto& name : topics) {
      if (rd_kafka_topic_t* topic = rd_kafka_topic_new(impl_->handle.get(), name.c_str(), nullptr))
        impl_->prepared_topics.emplace_back(topic);
    }
  }
  // all_topics = 0: the topics this handle knows, which now include `topics`.
  const rd_kafka_metadata_t* answer = nullptr;
  const auto err = rd_kafka_metadata(impl_->handle.get(), 0, nullptr, &answer,
                                     static_cast<int>(timeout.count()));
  const rdkafka::MetadataPtr metadata(answer);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    log_warn("topic metadata not prepared", {{"code", rd_kafka_err2name(err)}});
}

bool KafkaPublisher::flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(impl_->handle.get(), static_cast<int>(timeout.count())) ==
         RD_KAFKA_RESP_ERR_NO_ERROR;
}

int KafkaPublisher::queue_depth() const {
  return rd_kafka_outq_len(impl_->handle.get());
}

void KafkaPublisher::report_gauges(GaugeSink& sink) const {
  sink.set(Gauge::kKafkaReachable, reachable() ? 1 : 0);
  sink.set(Gauge::kProducerQueueDepth, queue_depth());
  sink.set(Gauge::kPossiblyPersisted, static_cast<double>(possibly_persisted()));
}

}  // namespace cmr_bridge
