package dev.cmr.bridge.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudevents.CloudEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads the records the real bridge wrote (tests/interop/produce_records.py) with the Java
 * CloudEvents SDK's Kafka binding and checks every attribute and the data bytes against what was
 * sent. Exit 1 on any mismatch. Usage: Check MANIFEST
 */
public final class Check {
  private final List<String> failures = new ArrayList<>();

  private static Properties consumerProperties(String brokers) {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    return properties;
  }

  /** Every record of topic, all partitions, from the start to the end offsets. */
  private static <V> List<ConsumerRecord<String, V>> readAll(KafkaConsumer<String, V> consumer, String topic) {
    List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
        .map(info -> new TopicPartition(topic, info.partition())).toList();
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(30));
    List<ConsumerRecord<String, V>> records = new ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
      if (System.nanoTime() > deadline) throw new IllegalStateException(topic + ": not read to its end within 60 s");
      consumer.poll(Duration.ofMillis(500)).forEach(records::add);
    }
    return records;
  }

  private static final ObjectMapper EXACT = new ObjectMapper()
      .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);

  /** Equal JSON values, numbers compared exactly (1.50 and 1.5 differ: the text is the contract). */
  private static boolean sameJson(byte[] a, byte[] b) {
    try {
      return EXACT.readTree(a).equals(EXACT.readTree(b));
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private void expect(String context, String name, Object got, Object sent) {
    if (!Objects.equals(got, sent)) failures.add(context + ": " + name + " = " + got + ", sent " + sent);
  }

  private void checkMode(JsonNode mode, String brokers) {
    String label = mode.get("mode").asText();
    Map<String, List<JsonNode>> byTopic = new LinkedHashMap<>();
    mode.get("events").forEach(e -> byTopic.computeIfAbsent(e.get("topic").asText(), t -> new ArrayList<>()).add(e));
    int checked = 0;
    int reserialized = 0;
    try (KafkaConsumer<String, CloudEvent> consumer = newEventConsumer(brokers)) {
      for (var entry : byTopic.entrySet()) {
        List<ConsumerRecord<String, CloudEvent>> records = readAll(consumer, entry.getKey());
        expect(label + " " + entry.getKey(), "record count", records.size(), entry.getValue().size());
        Map<String, ConsumerRecord<String, CloudEvent>> found = new HashMap<>();
        records.forEach(r -> found.put(r.value().getId(), r));
        for (JsonNode want : entry.getValue()) {
          String context = label + " " + want.get("id").asText() + " " + want.get("type").asText();
          ConsumerRecord<String, CloudEvent> record = found.get(want.get("id").asText());
          if (record == null) {
            failures.add(context + ": not found");
            continue;
          }
          CloudEvent event = record.value();
          expect(context, "id", event.getId(), want.get("id").asText());
          expect(context, "type", event.getType(), want.get("type").asText());
          expect(context, "source", event.getSource().toString(), want.get("source").asText());
          expect(context, "subject", event.getSubject(), want.get("subject").asText());
          expect(context, "kafka key", record.key(), want.get("key").asText());
          expect(context, "time", event.getTime() == null ? null : event.getTime().toInstant().toEpochMilli(),
              want.get("time_ms").asLong());
          expect(context, "datacontenttype", event.getDataContentType(), want.get("datacontenttype").asText());
          expect(context, "cmrxtimestamp", String.valueOf(event.getExtension("cmrxtimestamp")),
              want.get("cmrxtimestamp").asText());
          expect(context, "specversion", event.getSpecVersion().toString(), "1.0");
          byte[] sent = Base64.getDecoder().decode(want.get("data_base64").asText());
          byte[] data = event.getData() == null ? null : event.getData().toBytes();
          if (!Arrays.equals(data, sent)) {
            // In structured mode the SDK's JSON format holds `data` as a Jackson tree and
            // re-serializes it: the bytes may differ in whitespace only; the value must not.
            if (label.equals("structured") && data != null && sameJson(data, sent)) {
              reserialized++;
            } else {
              failures.add(context + ": data differs (" + (data == null ? "none" : data.length) + " bytes read, "
                  + sent.length + " sent)");
            }
          }
          checked++;
        }
      }
    }
    int letters = 0;
    if (mode.get("deadletters").size() > 0) {
      Properties properties = consumerProperties(brokers);
      properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
      try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(properties)) {
        Map<String, ConsumerRecord<String, byte[]>> byKey = new HashMap<>();
        readAll(consumer, mode.get("deadletters").get(0).get("topic").asText()).forEach(r -> byKey.put(r.key(), r));
        for (JsonNode want : mode.get("deadletters")) {
          String context = label + " dead letter " + want.get("key").asText();
          ConsumerRecord<String, byte[]> record = byKey.get(want.get("key").asText());
          if (record == null) {
            failures.add(context + ": not found");
            continue;
          }
          if (!Arrays.equals(record.value(), Base64.getDecoder().decode(want.get("value_base64").asText())))
            failures.add(context + ": value differs from the request body");
          Map<String, String> headers = new HashMap<>();
          for (Header h : record.headers()) headers.put(h.key(), new String(h.value(), StandardCharsets.UTF_8));
          want.get("headers").fields().forEachRemaining(h -> expect(context, h.getKey(), headers.get(h.getKey()),
              h.getValue().asText()));
          want.get("headers_present").forEach(name -> {
            if (headers.getOrDefault(name.asText(), "").isEmpty()) failures.add(context + ": no " + name.asText());
          });
          letters++;
        }
      }
    }
    System.out.printf("java cloudevents-kafka: %s mode: %d event records and %d dead letters checked%n", label,
        checked, letters);
    if (reserialized > 0)
      System.out.printf("java cloudevents-kafka: %s mode: NOTE the SDK re-serialized `data` of %d records: same JSON"
          + " value (exact numbers), different bytes (whitespace)%n", label, reserialized);
  }

  // snippet:begin java
  /** A consumer whose values are CloudEvents, read from structured or binary records. */
  static KafkaConsumer<String, CloudEvent> newEventConsumer(String brokers) {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
        io.cloudevents.kafka.CloudEventDeserializer.class);
    return new KafkaConsumer<>(properties);
  }
  // snippet:end java

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: Check MANIFEST");
      System.exit(2);
    }
    JsonNode manifest = new ObjectMapper().readTree(Files.readString(Path.of(args[0])));
    Check check = new Check();
    for (JsonNode mode : manifest.get("modes")) check.checkMode(mode, manifest.get("brokers").asText());
    check.failures.forEach(f -> System.out.println("MISMATCH " + f));
    System.exit(check.failures.isEmpty() ? 0 : 1);
  }
}
