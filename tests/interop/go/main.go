// Reads the records the real bridge wrote (tests/interop/produce_records.py) with the Go
// CloudEvents SDK's Kafka binding (protocol/kafka_sarama over IBM/sarama) and checks every
// attribute and the data bytes against what was sent. Exit 1 on any mismatch.
//
// Usage: interop-check MANIFEST
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

type expectedEvent struct {
	Topic           string `json:"topic"`
	Key             string `json:"key"`
	ID              string `json:"id"`
	Type            string `json:"type"`
	Source          string `json:"source"`
	Subject         string `json:"subject"`
	TimeMs          int64  `json:"time_ms"`
	DataContentType string `json:"datacontenttype"`
	DataBase64      string `json:"data_base64"`
	CmrxTimestamp   string `json:"cmrxtimestamp"`
}

type expectedDeadLetter struct {
	Topic          string            `json:"topic"`
	Key            string            `json:"key"`
	ValueBase64    string            `json:"value_base64"`
	Headers        map[string]string `json:"headers"`
	HeadersPresent []string          `json:"headers_present"`
}

type manifest struct {
	Brokers string `json:"brokers"`
	Modes   []struct {
		Mode        string               `json:"mode"`
		Events      []expectedEvent      `json:"events"`
		DeadLetters []expectedDeadLetter `json:"deadletters"`
	} `json:"modes"`
}

// readAll returns every record of topic, all partitions, from the start to the high-water mark.
func readAll(client sarama.Client, topic string) ([]*sarama.ConsumerMessage, error) {
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	partitions, err := client.Partitions(topic)
	if err != nil {
		return nil, err
	}
	var records []*sarama.ConsumerMessage
	for _, partition := range partitions {
		end, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
		if err != nil {
			return nil, err
		}
		if end == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, partition, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		for done := false; !done; {
			select {
			case m := <-pc.Messages():
				records = append(records, m)
				done = m.Offset+1 >= end
			case <-time.After(30 * time.Second):
				pc.Close()
				return nil, fmt.Errorf("%s/%d: no record within 30 s", topic, partition)
			}
		}
		pc.Close()
	}
	return records, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: interop-check MANIFEST")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	config := sarama.NewConfig()
	config.Version = sarama.V3_6_0_0
	client, err := sarama.NewClient(strings.Split(m.Brokers, ","), config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafka:", err)
		os.Exit(1)
	}
	defer client.Close()

	failures := 0
	fail := func(format string, args ...any) {
		failures++
		fmt.Printf("MISMATCH "+format+"\n", args...)
	}
	for _, mode := range m.Modes {
		byTopic := map[string][]expectedEvent{}
		for _, e := range mode.Events {
			byTopic[e.Topic] = append(byTopic[e.Topic], e)
		}
		checked := 0
		for topic, expected := range byTopic {
			records, err := readAll(client, topic)
			if err != nil {
				fail("%s: %v", topic, err)
				continue
			}
			found := map[string]*sarama.ConsumerMessage{}
			for _, r := range records {
				event, err := readEvent(r)
				if err != nil {
					fail("%s %s/%d@%d: the SDK could not read the record: %v", mode.Mode, topic, r.Partition, r.Offset, err)
					continue
				}
				found[event.ID()] = r
			}
			if len(records) != len(expected) {
				fail("%s %s: %d records, expected %d", mode.Mode, topic, len(records), len(expected))
			}
			for _, want := range expected {
				r, ok := found[want.ID]
				if !ok {
					fail("%s %s: no record with id %s", mode.Mode, topic, want.ID)
					continue
				}
				event, _ := readEvent(r)
				data, _ := base64.StdEncoding.DecodeString(want.DataBase64)
				checks := []struct {
					name      string
					got, want any
				}{
					{"id", event.ID(), want.ID},
					{"type", event.Type(), want.Type},
					{"source", event.Source(), want.Source},
					{"subject", event.Subject(), want.Subject},
					{"kafka key", string(r.Key), want.Key},
					{"time", event.Time().UnixMilli(), want.TimeMs},
					{"datacontenttype", event.DataContentType(), want.DataContentType},
					{"cmrxtimestamp", fmt.Sprint(event.Extensions()["cmrxtimestamp"]), want.CmrxTimestamp},
					{"specversion", event.SpecVersion(), "1.0"},
				}
				for _, c := range checks {
					if c.got != c.want {
						fail("%s %s %s: %s = %v, sent %v", mode.Mode, want.ID, want.Type, c.name, c.got, c.want)
					}
				}
				if !bytes.Equal(event.Data(), data) {
					fail("%s %s %s: data bytes differ (%d read, %d sent)", mode.Mode, want.ID, want.Type, len(event.Data()), len(data))
				}
				checked++
			}
		}
		letters := 0
		if len(mode.DeadLetters) > 0 {
			records, err := readAll(client, mode.DeadLetters[0].Topic)
			if err != nil {
				fail("%s dead letters: %v", mode.Mode, err)
			}
			byKey := map[string]*sarama.ConsumerMessage{}
			for _, r := range records {
				byKey[string(r.Key)] = r
			}
			for _, want := range mode.DeadLetters {
				r, ok := byKey[want.Key]
				if !ok {
					fail("%s dead letter %s: not found", mode.Mode, want.Key)
					continue
				}
				value, _ := base64.StdEncoding.DecodeString(want.ValueBase64)
				if !bytes.Equal(r.Value, value) {
					fail("%s dead letter %s: value differs from the request body", mode.Mode, want.Key)
				}
				headers := map[string]string{}
				for _, h := range r.Headers {
					headers[string(h.Key)] = string(h.Value)
				}
				for name, text := range want.Headers {
					if headers[name] != text {
						fail("%s dead letter %s: header %s = %q, expected %q", mode.Mode, want.Key, name, headers[name], text)
					}
				}
				for _, name := range want.HeadersPresent {
					if headers[name] == "" {
						fail("%s dead letter %s: header %s missing", mode.Mode, want.Key, name)
					}
				}
				letters++
			}
		}
		fmt.Printf("go sdk-go/kafka_sarama: %s mode: %d event records and %d dead letters checked\n", mode.Mode, checked, letters)
	}
	if failures > 0 {
		fmt.Printf("go: %d mismatches\n", failures)
		os.Exit(1)
	}
}
