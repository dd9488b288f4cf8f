// Command cmr-reference-receiver is the benchmark's yardstick (issue 19): the CMR webhook
// receiver a Go engineer would write for production with net/http and franz-go, without
// cmr-bridge's extras (schema validation, CloudEvents records, dedup markers on Kafka, access
// log, metrics). tests/bench/bench.sh builds it with `go build` and runs it against the same
// broker and the same load as cmr-bridge.
//
// Per request: the body (at most 1 MiB), cmr-x-timestamp within 5 minutes of now (seconds or
// milliseconds), cmr-x-signature = hex HMAC-SHA256 of the raw body under any configured key
// (optional "sha256=" prefix, constant-time compare), the envelope {"event", "eventId", "data"},
// an in-memory dedup claim on the eventId, one record produced with acks=all by the idempotent
// producer (key = eventId, value = the raw body, headers cmr-event-id and cmr-event), and the
// answer only after the broker acknowledged it. A failed produce releases the claim (503), so
// the sender's retry publishes again.
//
// Settings (environment, the same names as cmr-bridge so bench.sh starts both alike):
//
//	CMR_BRIDGE_SIGNING_KEYS      comma-separated HMAC keys (required)
//	CMR_BRIDGE_LISTEN            host:port (default 127.0.0.1:8080; port 0 = any)
//	CMR_BRIDGE_KAFKA_BROKERS     seed brokers (default 127.0.0.1:9092)
//	CMR_BRIDGE_TOPIC_ORDER, CMR_BRIDGE_TOPIC_SUBSCRIPTION, CMR_BRIDGE_TOPIC_PREWARMUP,
//	CMR_BRIDGE_TOPIC_DEADLETTER  topics for domain./mailbox., subscription., prewarmup. and any
//	                             other event (they must exist: this receiver creates none)
//	REFERENCE_DEDUP_CAPACITY     eventIds remembered (default 1000000, oldest forgotten first)
//
// It logs one JSON line when it listens ({"msg":"listening","webhook_port":N,...}) and one per
// failed produce; none per request.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	maxBodyBytes   = 1 << 20
	maxClockSkew   = 5 * time.Minute
	produceTimeout = 30 * time.Second
	dedupShards    = 64
)

type config struct {
	keys          [][]byte
	listen        string
	brokers       []string
	topicOrder    string
	topicSub      string
	topicPrewarm  string
	topicDead     string
	dedupCapacity int
}

func env(name, fallback string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return fallback
}

func envInt(name string, fallback, lo, hi int) (int, error) {
	raw := env(name, strconv.Itoa(fallback))
	v, err := strconv.Atoi(raw)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%s: %q is not an integer in [%d, %d]", name, raw, lo, hi)
	}
	return v, nil
}

func loadConfig() (config, error) {
	var c config
	for _, k := range strings.Split(env("CMR_BRIDGE_SIGNING_KEYS", ""), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.keys = append(c.keys, []byte(k))
		}
	}
	if len(c.keys) == 0 {
		return c, errors.New("CMR_BRIDGE_SIGNING_KEYS: at least one key is required")
	}
	c.listen = env("CMR_BRIDGE_LISTEN", "127.0.0.1:8080")
	c.brokers = strings.Split(env("CMR_BRIDGE_KAFKA_BROKERS", "127.0.0.1:9092"), ",")
	c.topicOrder = env("CMR_BRIDGE_TOPIC_ORDER", "cmr.order.events")
	c.topicSub = env("CMR_BRIDGE_TOPIC_SUBSCRIPTION", "cmr.subscription.events")
	c.topicPrewarm = env("CMR_BRIDGE_TOPIC_PREWARMUP", "cmr.prewarmup.events")
	c.topicDead = env("CMR_BRIDGE_TOPIC_DEADLETTER", "cmr.webhooks.deadletter")
	var err error
	if c.dedupCapacity, err = envInt("REFERENCE_DEDUP_CAPACITY", 1000000, dedupShards, 1<<30); err != nil {
		return c, err
	}
	return c, nil
}

// dedup remembers eventIds: claimed while their record is in flight, published once acked.
// Each shard forgets its oldest published ids beyond its share of the capacity.
type dedup struct {
	shards [dedupShards]dedupShard
}

type dedupShard struct {
	mu        sync.Mutex
	published map[string]bool // false = claimed (in flight), true = published
	order     []string        // published ids, oldest first
	capacity  int
}

type claim int

const (
	claimed claim = iota
	alreadyPublished
	inFlight
)

func newDedup(capacity int) *dedup {
	d := &dedup{}
	for i := range d.shards {
		d.shards[i].published = make(map[string]bool)
		d.shards[i].capacity = capacity / dedupShards
	}
	return d
}

func (d *dedup) shard(id string) *dedupShard {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return &d.shards[h%dedupShards]
}

func (d *dedup) claim(id string) claim {
	s := d.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if done, seen := s.published[id]; seen {
		if done {
			return alreadyPublished
		}
		return inFlight
	}
	s.published[id] = false
	return claimed
}

func (d *dedup) release(id string) {
	s := d.shard(id)
	s.mu.Lock()
	delete(s.published, id)
	s.mu.Unlock()
}

func (d *dedup) markPublished(id string) {
	s := d.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published[id] = true
	s.order = append(s.order, id)
	if len(s.order) > s.capacity {
		oldest := s.order[0]
		s.order[0] = ""
		s.order = s.order[1:]
		delete(s.published, oldest)
	}
}

type receiver struct {
	cfg    config
	client *kgo.Client
	seen   *dedup
}

type envelope struct {
	Event   string          `json:"event"`
	EventID string          `json:"eventId"`
	Data    json.RawMessage `json:"data"`
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func answerError(w http.ResponseWriter, status int, code, detail string) {
	b, _ := json.Marshal(map[string]string{"error": code, "detail": detail})
	answer(w, status, string(b))
}

func answerEvent(w http.ResponseWriter, status, eventID string) {
	b, _ := json.Marshal(map[string]string{"status": status, "eventId": eventID})
	answer(w, http.StatusOK, string(b))
}

func (r *receiver) verify(timestamp, signature string, body []byte, now time.Time) (string, string) {
	if timestamp == "" {
		return "missing_timestamp", "cmr-x-timestamp is missing"
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return "malformed_timestamp", "cmr-x-timestamp is not a Unix time"
	}
	if ts > 1e12 { // milliseconds
		ts /= 1000
	}
	age := now.Sub(time.Unix(ts, 0))
	if age > maxClockSkew {
		return "timestamp_expired", "cmr-x-timestamp is more than 5 minutes old"
	}
	if age < -maxClockSkew {
		return "timestamp_in_future", "cmr-x-timestamp is more than 5 minutes ahead"
	}
	if signature == "" {
		return "missing_signature", "cmr-x-signature is missing"
	}
	given, err := hex.DecodeString(strings.TrimPrefix(signature, "sha256="))
	if err != nil || len(given) != sha256.Size {
		return "malformed_signature", "cmr-x-signature is not a hex HMAC-SHA256"
	}
	for _, key := range r.cfg.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), given) {
			return "", ""
		}
	}
	return "signature_mismatch", "cmr-x-signature does not match the body under any key"
}

func (r *receiver) topicFor(event string) string {
	switch {
	case strings.HasPrefix(event, "domain."), strings.HasPrefix(event, "mailbox."):
		return r.cfg.topicOrder
	case strings.HasPrefix(event, "subscription."):
		return r.cfg.topicSub
	case strings.HasPrefix(event, "prewarmup."):
		return r.cfg.topicPrewarm
	default:
		return r.cfg.topicDead
	}
}

func (r *receiver) serveWebhook(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		answerError(w, http.StatusMethodNotAllowed, "method_not_allowed", "POST only")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			answerError(w, http.StatusRequestEntityTooLarge, "body_too_large", "body exceeds 1 MiB")
		} else {
			answerError(w, http.StatusBadRequest, "body_unreadable", err.Error())
		}
		return
	}
	if code, detail := r.verify(req.Header.Get("cmr-x-timestamp"), req.Header.Get("cmr-x-signature"),
		body, time.Now()); code != "" {
		answerError(w, http.StatusUnauthorized, code, detail)
		return
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		answerError(w, http.StatusBadRequest, "invalid_json", err.Error())
		return
	}
	if env.Event == "" || env.EventID == "" || len(env.Data) == 0 || env.Data[0] != '{' {
		answerError(w, http.StatusBadRequest, "invalid_envelope",
			`need "event" and "eventId" strings and a "data" object`)
		return
	}
	switch r.seen.claim(env.EventID) {
	case alreadyPublished:
		answerEvent(w, "duplicate", env.EventID)
		return
	case inFlight:
		answerError(w, http.StatusConflict, "event_in_flight", "this eventId is being published")
		return
	}
	record := &kgo.Record{
		Topic: r.topicFor(env.Event),
		Key:   []byte(env.EventID),
		Value: body,
		Headers: []kgo.RecordHeader{
			{Key: "cmr-event-id", Value: []byte(env.EventID)},
			{Key: "cmr-event", Value: []byte(env.Event)},
		},
	}
	ctx, cancel := context.WithTimeout(req.Context(), produceTimeout)
	defer cancel()
	if err := r.client.ProduceSync(ctx, record).FirstErr(); err != nil {
		r.seen.release(env.EventID)
		slog.Warn("produce failed", "topic", record.Topic, "error", err.Error())
		answerError(w, http.StatusServiceUnavailable, "delivery_failed", "Kafka did not acknowledge")
		return
	}
	r.seen.markPublished(env.EventID)
	answerEvent(w, "accepted", env.EventID)
}

func run() error {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.brokers...),
		// Idempotent with acks=all are franz-go's defaults; stated, since a 2xx means durable.
		// Its default linger (10 ms) does not delay ProduceSync, which un-lingers the partition
		// it produces to: each record is sent at once, and batches form while requests are in
		// flight. lz4 as cmr-bridge compresses, so the broker does the same work per byte.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), // murmur2 by key, as Java
	)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()
	pingCtx, cancelPing := context.WithTimeout(context.Background(), 30*time.Second)
	err = client.Ping(pingCtx)
	cancelPing()
	if err != nil {
		return fmt.Errorf("kafka unreachable at %s: %w", strings.Join(cfg.brokers, ","), err)
	}

	r := &receiver{cfg: cfg, client: client, seen: newDedup(cfg.dedupCapacity)}
	mux := http.NewServeMux()
	mux.HandleFunc("/webhooks", r.serveWebhook)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { answer(w, 200, `{"status":"ok"}`) })
	server := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      65 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	listener, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("CMR_BRIDGE_LISTEN %s: %w", cfg.listen, err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	slog.Info("listening", "webhook_port", port, "admin_port", -1, "brokers", strings.Join(cfg.brokers, ","))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	select {
	case err := <-served:
		return err
	case <-stop:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return client.Flush(shutdownCtx)
}

func main() {
	if err := run(); err != nil {
		slog.Error("exit", "error", err.Error())
		os.Exit(1)
	}
}
