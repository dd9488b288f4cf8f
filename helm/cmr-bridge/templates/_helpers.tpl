{{/* Names and labels. */}}
{{- define "cmr-bridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cmr-bridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "cmr-bridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cmr-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cmr-bridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cmr-bridge.labels" -}}
helm.sh/chart: {{ include "cmr-bridge.chart" . }}
{{ include "cmr-bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: webhook-bridge
app.kubernetes.io/part-of: cmr-bridge
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "cmr-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cmr-bridge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "cmr-bridge.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* StatefulSet when the spool needs a volume per pod, else Deployment. */}}
{{- define "cmr-bridge.workloadKind" -}}
{{- if .Values.spool.enabled -}}StatefulSet{{- else -}}Deployment{{- end -}}
{{- end -}}

{{/* The keys Secret: existingSecret, else the chart's own (created or expected) "<fullname>". */}}
{{- define "cmr-bridge.secretName" -}}
{{- default (include "cmr-bridge.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{- define "cmr-bridge.createSecret" -}}
{{- if and (not .Values.secret.existingSecret) .Values.secret.signingKeys -}}true{{- end -}}
{{- end -}}

{{/* ConfigMap key of a schema file: keys cannot hold '/', so events/x.json -> schema.events__x.json. */}}
{{- define "cmr-bridge.schemaKey" -}}
{{- if or (hasPrefix "/" .) (contains ".." .) -}}
{{- fail (printf "schemas.overrides: %q must be a relative path inside the schema directory" .) -}}
{{- end -}}
{{- printf "schema.%s" (. | replace "/" "__") -}}
{{- end -}}

{{- define "cmr-bridge.hasConfigMap" -}}
{{- if or .Values.routes.file .Values.schemas.overrides (include "cmr-bridge.hasConfigFile" .) -}}true{{- end -}}
{{- end -}}

{{/* A config file is mounted when configFile or sources has something to say. */}}
{{- define "cmr-bridge.hasConfigFile" -}}
{{- if or .Values.configFile .Values.sources -}}true{{- end -}}
{{- end -}}

{{/*
The sources as the config file's "sources" list takes them (docs/kubernetes.md#webhook-sources):
each entry as written in values, without keysSecret, plus keys_file (the Secret key mounted at
/etc/cmr-bridge/sources/<name>/keys) or keys_env (a variable set from the Secret). Keys never
pass through values. Rendered as JSON: {"sources": [...]}.
*/}}
{{- define "cmr-bridge.sourcesConfig" -}}
{{- $sources := list -}}
{{- $names := dict -}}
{{- range $i, $source := .Values.sources -}}
{{- $name := required (printf "sources[%d].name is required" $i) $source.name -}}
{{- if not (regexMatch "^[a-z0-9-]{1,32}$" $name) -}}
{{- fail (printf "sources[%d].name %q must match [a-z0-9-]{1,32}" $i $name) -}}
{{- end -}}
{{- if or (eq $name "cmr") (hasKey $names $name) -}}
{{- fail (printf "sources[%d].name %q is taken (cmr is the built-in source; names are unique)" $i $name) -}}
{{- end -}}
{{- $_ := set $names $name true -}}
{{- if or (hasKey $source "keys_env") (hasKey $source "keys_file") (hasKey $source "keys") -}}
{{- fail (printf "sources[%d] (%s): keys come from a Secret: set keysSecret, not keys_env, keys_file or keys" $i $name) -}}
{{- end -}}
{{- $secret := required (printf "sources[%d] (%s): keysSecret.name is required (the Secret holding its keys)" $i $name) (($source.keysSecret | default dict).name) -}}
{{- $rendered := omit $source "keysSecret" -}}
{{- if eq (include "cmr-bridge.sourceKeysAs" $source) "env" -}}
{{- $_ := set $rendered "keys_env" (include "cmr-bridge.sourceKeysEnv" $source) -}}
{{- else -}}
{{- $_ := set $rendered "keys_file" (printf "/etc/cmr-bridge/sources/%s/keys" $name) -}}
{{- end -}}
{{- $sources = append $sources $rendered -}}
{{- end -}}
{{- toJson (dict "sources" $sources) -}}
{{- end -}}

{{/* How a source's keys reach the bridge: "file" (default) or "env". */}}
{{- define "cmr-bridge.sourceKeysAs" -}}
{{- $as := (.keysSecret | default dict).as | default "file" -}}
{{- if not (has $as (list "file" "env")) -}}
{{- fail (printf "sources (%s): keysSecret.as must be file or env, not %q" .name $as) -}}
{{- end -}}
{{- $as -}}
{{- end -}}

{{/* The variable a keysSecret.as=env source reads: keysSecret.env, or CMR_SOURCE_<NAME>_KEYS. */}}
{{- define "cmr-bridge.sourceKeysEnv" -}}
{{- (.keysSecret | default dict).env | default (printf "CMR_SOURCE_%s_KEYS" (.name | upper | replace "-" "_")) -}}
{{- end -}}

{{/* The Secret key holding a source's comma-separated keys (keysSecret.key, default "keys"). */}}
{{- define "cmr-bridge.sourceKeysKey" -}}
{{- (.keysSecret | default dict).key | default "keys" -}}
{{- end -}}

{{/*
The shutdown's worst case in seconds (values.yaml, terminationGracePeriodSeconds, has the sum
written out): preStop sleep + drain delay, a request whose body is still arriving (read
timeout) and its wait for Kafka (D), the spool forwarding (spool.drainSeconds + D, spool on),
the producer flush (D), margin.
*/}}
{{- define "cmr-bridge.shutdownSeconds" -}}
{{- $delivery := div (add (int .Values.kafka.deliveryTimeoutMs) 999) 1000 -}}
{{- $spool := 0 -}}
{{- if .Values.spool.enabled -}}
{{- $spool = add (int .Values.spool.drainSeconds) $delivery -}}
{{- end -}}
{{- add (int .Values.preStopSleepSeconds) (int .Values.drainDelaySeconds) (int .Values.webhook.readTimeoutSeconds) $delivery $spool $delivery 5 -}}
{{- end -}}

{{- define "cmr-bridge.terminationGracePeriodSeconds" -}}
{{- $need := include "cmr-bridge.shutdownSeconds" . | int -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds -}}
{{- $need -}}
{{- else if lt (int .Values.terminationGracePeriodSeconds) $need -}}
{{- fail (printf "terminationGracePeriodSeconds %d is shorter than the shutdown it must cover (%d s: preStop sleep, drain delay, read timeout, delivery timeout for the requests in flight%s and the producer flush, 5 s margin); raise it or leave it null" (int .Values.terminationGracePeriodSeconds) $need (ternary ", spool.drainSeconds + delivery timeout for the spool" "" .Values.spool.enabled)) -}}
{{- else -}}
{{- int .Values.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end -}}

{{/* A Kubernetes memory quantity (plain bytes, k/M/G/T, Ki/Mi/Gi/Ti) in bytes, as int64. */}}
{{- define "cmr-bridge.quantityBytes" -}}
{{- $q := toString . -}}
{{- $units := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- $bytes := "" -}}
{{- range $suffix, $factor := $units -}}
{{- if and (not $bytes) (regexMatch (printf "^[0-9]+%s$" $suffix) $q) -}}
{{- $bytes = mul (trimSuffix $suffix $q | int64) $factor | toString -}}
{{- end -}}
{{- end -}}
{{- if and (not $bytes) (regexMatch "^[0-9]+$" $q) -}}
{{- $bytes = $q -}}
{{- end -}}
{{- if not $bytes -}}
{{- fail (printf "resources: memory quantity %q is not <integer>[Ki|Mi|Gi|Ti|k|M|G|T]" $q) -}}
{{- end -}}
{{- $bytes -}}
{{- end -}}

{{/*
Memory the bridge needs, MiB (values.yaml, resources, has the arithmetic): "request" = base +
dedup cache; "limit" = request + every in-flight body held bodyCopies times.
*/}}
{{- define "cmr-bridge.memoryMiB" -}}
{{- $m := .Values.memorySizing -}}
{{- $mib := 1048576 -}}
{{- $dedup := 0 -}}
{{- if .Values.dedup.enabled -}}
{{- $dedup = mul (.Values.dedup.capacity | int64) (int64 $m.bytesPerDedupEntry) -}}
{{- end -}}
{{- $bodies := mul (int64 .Values.webhook.maxInFlight) (.Values.webhook.maxBodyBytes | int64) (int64 $m.bodyCopies) -}}
{{- $request := add (int64 $m.baseMiB) (div (add $dedup (sub $mib 1)) $mib) -}}
{{- $limit := add $request (div (add $bodies (sub $mib 1)) $mib) -}}
{{- dict "request" $request "limit" $limit | toJson -}}
{{- end -}}

{{/* resources with the memory request and limit computed, or checked when given. */}}
{{- define "cmr-bridge.resources" -}}
{{- $need := include "cmr-bridge.memoryMiB" . | fromJson -}}
{{- $resources := deepCopy (.Values.resources | default dict) -}}
{{- $requests := $resources.requests | default dict -}}
{{- $limits := $resources.limits | default dict -}}
{{- range $kind, $section := dict "request" $requests "limit" $limits -}}
{{- $wantMiB := int64 (get $need $kind) -}}
{{- if hasKey $section "memory" -}}
{{- $have := include "cmr-bridge.quantityBytes" $section.memory | int64 -}}
{{- if lt $have (mul $wantMiB 1048576) -}}
{{- fail (printf "resources.%ss.memory %s is below the %d Mi the settings need (memorySizing: base %d Mi + dedup.capacity x %d B%s); raise it, or unset it to have it computed" $kind (toString $section.memory) $wantMiB (int64 $.Values.memorySizing.baseMiB) (int64 $.Values.memorySizing.bytesPerDedupEntry) (ternary (printf " + webhook.maxInFlight x webhook.maxBodyBytes x %d" (int64 $.Values.memorySizing.bodyCopies)) "" (eq $kind "limit"))) -}}
{{- end -}}
{{- else -}}
{{- $_ := set $section "memory" (printf "%dMi" $wantMiB) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $resources "requests" $requests -}}
{{- $_ := set $resources "limits" $limits -}}
{{- toYaml $resources -}}
{{- end -}}

{{/* librdkafka property name -> CMR_BRIDGE_KAFKA_PROP_ variable name. */}}
{{- define "cmr-bridge.kafkaPropEnv" -}}
{{- if contains "_" . -}}
{{- fail (printf "kafka.properties: %q contains '_', which CMR_BRIDGE_KAFKA_PROP_<NAME> cannot express" .) -}}
{{- end -}}
{{- printf "CMR_BRIDGE_KAFKA_PROP_%s" (. | replace "." "_" | upper) -}}
{{- end -}}

{{/* The container's environment: only variables with a value; future features only when enabled. */}}
{{- define "cmr-bridge.env" -}}
{{- $secret := include "cmr-bridge.secretName" . -}}
- name: CMR_BRIDGE_SIGNING_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secret.keys.signingKeys }}
- name: CMR_BRIDGE_KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
- name: CMR_BRIDGE_LISTEN
  value: {{ printf "%s:%d" .Values.listenHost (int .Values.ports.webhook) | quote }}
- name: CMR_BRIDGE_ADMIN_LISTEN
  value: {{ printf "%s:%d" .Values.listenHost (int .Values.ports.admin) | quote }}
- name: CMR_BRIDGE_TIMESTAMP_TOLERANCE_S
  value: {{ .Values.webhook.timestampToleranceSeconds | int | quote }}
- name: CMR_BRIDGE_SIGNATURE_SCHEME
  value: {{ .Values.webhook.signatureScheme | quote }}
- name: CMR_BRIDGE_DELIVERY_TIMEOUT_MS
  value: {{ .Values.kafka.deliveryTimeoutMs | int | quote }}
{{- with .Values.kafka.topicPrefix }}
- name: CMR_BRIDGE_TOPIC_PREFIX
  value: {{ . | quote }}
{{- end }}
{{- range $name := list "order" "subscription" "prewarmup" "deadletter" }}
{{- with index $.Values.kafka.topics $name }}
- name: CMR_BRIDGE_TOPIC_{{ upper $name }}
  value: {{ . | quote }}
{{- end }}
{{- end }}
- name: CMR_BRIDGE_CREATE_TOPICS
  value: {{ .Values.kafka.createTopics | toString | quote }}
- name: CMR_BRIDGE_TOPIC_PARTITIONS
  value: {{ .Values.kafka.topicPartitions | int | quote }}
- name: CMR_BRIDGE_TOPIC_REPLICATION_FACTOR
  value: {{ .Values.kafka.topicReplicationFactor | int | quote }}
- name: CMR_BRIDGE_MAX_BODY_BYTES
  value: {{ .Values.webhook.maxBodyBytes | int | quote }}
- name: CMR_BRIDGE_HTTP_THREADS
  value: {{ .Values.webhook.httpThreads | int | quote }}
- name: CMR_BRIDGE_MAX_IN_FLIGHT
  value: {{ .Values.webhook.maxInFlight | int | quote }}
- name: CMR_BRIDGE_READ_TIMEOUT_S
  value: {{ .Values.webhook.readTimeoutSeconds | int | quote }}
- name: CMR_BRIDGE_DRAIN_DELAY_S
  value: {{ .Values.drainDelaySeconds | int | quote }}
- name: CMR_BRIDGE_RECORD_FORMAT
  value: {{ .Values.records.format | quote }}
- name: CMR_BRIDGE_CLOUDEVENTS_SOURCE
  value: {{ .Values.records.cloudEventsSource | quote }}
- name: CMR_BRIDGE_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- /* Kafka security */}}
{{- $tls := .Values.kafka.tls -}}
{{- $sasl := .Values.kafka.sasl -}}
{{- if or $tls.enabled $sasl.enabled }}
{{- $protocol := "SASL_PLAINTEXT" }}
{{- if $tls.enabled }}{{ $protocol = ternary "SASL_SSL" "SSL" $sasl.enabled }}{{ end }}
- name: CMR_BRIDGE_KAFKA_PROP_SECURITY_PROTOCOL
  value: {{ $protocol | quote }}
{{- end }}
{{- if $tls.enabled }}
{{- if $tls.caSecret.name }}
- name: CMR_BRIDGE_KAFKA_PROP_SSL_CA_LOCATION
  value: {{ printf "/etc/cmr-bridge/kafka-tls/ca/%s" $tls.caSecret.key | quote }}
{{- end }}
{{- if $tls.clientCertSecret.name }}
- name: CMR_BRIDGE_KAFKA_PROP_SSL_CERTIFICATE_LOCATION
  value: {{ printf "/etc/cmr-bridge/kafka-tls/client/%s" $tls.clientCertSecret.certKey | quote }}
- name: CMR_BRIDGE_KAFKA_PROP_SSL_KEY_LOCATION
  value: {{ printf "/etc/cmr-bridge/kafka-tls/client/%s" $tls.clientCertSecret.keyKey | quote }}
{{- end }}
{{- if not $tls.verifyHostname }}
- name: CMR_BRIDGE_KAFKA_PROP_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM
  value: "none"
{{- end }}
{{- end }}
{{- if $sasl.enabled }}
- name: CMR_BRIDGE_KAFKA_PROP_SASL_MECHANISMS
  value: {{ $sasl.mechanism | quote }}
- name: CMR_BRIDGE_KAFKA_PROP_SASL_USERNAME
  value: {{ required "kafka.sasl.username is required when kafka.sasl.enabled" $sasl.username | quote }}
- name: CMR_BRIDGE_KAFKA_PROP_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      {{- if $sasl.passwordSecret.name }}
      name: {{ $sasl.passwordSecret.name }}
      key: {{ $sasl.passwordSecret.key }}
      {{- else }}
      name: {{ $secret }}
      key: {{ .Values.secret.keys.kafkaSaslPassword }}
      {{- end }}
{{- end }}
{{- range $name, $value := .Values.kafka.properties }}
- name: {{ include "cmr-bridge.kafkaPropEnv" $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- /* Spool, dedup: only what is switched on. */}}
{{- if .Values.spool.enabled }}
- name: CMR_BRIDGE_SPOOL_DIR
  value: {{ .Values.spool.mountPath | quote }}
- name: CMR_BRIDGE_SPOOL_MAX_BYTES
  value: {{ .Values.spool.maxBytes | int64 | quote }}
- name: CMR_BRIDGE_SPOOL_RETRY_MS
  value: {{ .Values.spool.retryMs | int64 | quote }}
- name: CMR_BRIDGE_SPOOL_DRAIN_S
  value: {{ .Values.spool.drainSeconds | int | quote }}
{{- end }}
- name: CMR_BRIDGE_DEDUP
  value: {{ .Values.dedup.enabled | toString | quote }}
{{- if .Values.dedup.enabled }}
{{- with .Values.dedup.topic }}
- name: CMR_BRIDGE_DEDUP_TOPIC
  value: {{ . | quote }}
{{- end }}
- name: CMR_BRIDGE_DEDUP_CAPACITY
  value: {{ .Values.dedup.capacity | int64 | quote }}
- name: CMR_BRIDGE_DEDUP_TTL_S
  value: {{ .Values.dedup.ttlSeconds | int64 | quote }}
- name: CMR_BRIDGE_DEDUP_TOPIC_PARTITIONS
  value: {{ .Values.dedup.topicPartitions | int | quote }}
{{- end }}
{{- with .Values.credentials.mode }}
- name: CMR_BRIDGE_CREDENTIALS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.credentials.fields }}
- name: CMR_BRIDGE_CREDENTIAL_FIELDS
  value: {{ join "," . | quote }}
{{- end }}
{{- if eq .Values.credentials.mode "encrypt" }}
- name: CMR_BRIDGE_ENCRYPTION_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secret.keys.encryptionKeys }}
{{- end }}
{{- if include "cmr-bridge.hasConfigFile" . }}
- name: CMR_BRIDGE_CONFIG_FILE
  value: "/etc/cmr-bridge/config/config.json"
{{- end }}
{{- range .Values.sources }}
{{- if eq (include "cmr-bridge.sourceKeysAs" .) "env" }}
- name: {{ include "cmr-bridge.sourceKeysEnv" . }}
  valueFrom:
    secretKeyRef:
      name: {{ .keysSecret.name }}
      key: {{ include "cmr-bridge.sourceKeysKey" . }}
{{- end }}
{{- end }}
{{- if .Values.routes.file }}
- name: CMR_BRIDGE_ROUTES_FILE
  value: {{ printf "%s/%s" .Values.routes.mountPath .Values.routes.fileName | quote }}
{{- end }}
{{- if .Values.schemas.overrides }}
- name: CMR_BRIDGE_SCHEMA_DIR
  value: {{ .Values.schemas.mountPath | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
