package main

// snippet:begin go
import (
	"context"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
)

// readEvent turns one consumed record, structured or binary mode, into a CloudEvent.
func readEvent(record *sarama.ConsumerMessage) (*event.Event, error) {
	message := kafka_sarama.NewMessageFromConsumerMessage(record)
	return binding.ToEvent(context.Background(), message)
}

// snippet:end go
