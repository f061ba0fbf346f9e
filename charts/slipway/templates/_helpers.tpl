{{/* Names, labels and the settings every template shares. */}}

{{- define "slipway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "slipway.fullname" -}}
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

{{- define "slipway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "slipway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: include "slipway.selectorLabels" (list . "coordinator") */}}
{{- define "slipway.selectorLabels" -}}
{{- $top := index . 0 -}}
app.kubernetes.io/name: {{ include "slipway.name" $top }}
app.kubernetes.io/instance: {{ $top.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "slipway.coordinatorServiceAccount" -}}
{{- if .Values.coordinator.serviceAccount.create -}}
{{- default (printf "%s-coordinator" (include "slipway.fullname" .)) .Values.coordinator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.coordinator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "slipway.agentServiceAccount" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (printf "%s-agent" (include "slipway.fullname" .)) .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* One of Slipway's images, REGISTRY/REPOSITORY:TAG: include "slipway.image" (list . .Values.coordinator.image). They are published nowhere: image.registry, where the platform team pushed them, is required. */}}
{{- define "slipway.image" -}}
{{- $top := index . 0 -}}
{{- $image := index . 1 -}}
{{- $registry := required "image.registry is required: the registry (and path) you pushed Slipway's images to, e.g. registry.example.com/slipway for registry.example.com/slipway/slipway-coordinator. They are published nowhere: build them from the repository's Dockerfile (targets coordinator, agent, node-cache) and push them, see docs/deploying.md#slipways-own-images" $top.Values.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $registry) $image.repository (default $top.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{/* SLIPWAY_NATS_URL (and SLIPWAY_LOG_LEVEL): from a Secret, or nats.url (required otherwise). */}}
{{- define "slipway.natsEnv" -}}
- name: SLIPWAY_NATS_URL
{{- if .Values.nats.urlSecret.name }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.nats.urlSecret.name }}
      key: {{ .Values.nats.urlSecret.key }}
{{- else }}
  value: {{ required "nats.url is required: the NATS (with JetStream) Slipway keeps its state in, e.g. nats://nats.nats-system.svc:4222 (or set nats.urlSecret.name); install one with the official NATS chart and charts/nats-values.yaml (docs/deploying.md#nats)" .Values.nats.url | quote }}
{{- end }}
{{- if .Values.logLevel }}
- name: SLIPWAY_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end }}
{{- end -}}

{{/* Optional settings: include "slipway.optionalEnv" (list (list "SLIPWAY_X" .Values.x) ...); a pair whose value is null or "" is left out. */}}
{{- define "slipway.optionalEnv" -}}
{{- $lines := list -}}
{{- range . -}}
{{- $value := index . 1 -}}
{{- if and (not (kindIs "invalid" $value)) (ne (toString $value) "") -}}
{{- $lines = append $lines (printf "- name: %s\n  value: %s" (index . 0) (toString $value | quote)) -}}
{{- end -}}
{{- end -}}
{{- join "\n" $lines -}}
{{- end -}}

{{/* A map of labels as key=value,... (SLIPWAY_NODE_LABELS), keys sorted; "" for none. */}}
{{- define "slipway.labelList" -}}
{{- $pairs := list -}}
{{- range $k, $v := . -}}
{{- $pairs = append $pairs (printf "%s=%s" $k $v) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{- define "slipway.coordinatorAddr" -}}
{{- printf "%s-coordinator.%s.svc:%v" (include "slipway.fullname" .) .Release.Namespace .Values.coordinator.grpcPort -}}
{{- end -}}

{{/* The node cache container: (list ROOT SIDECAR) - a native sidecar of the agent (dind mode) or its own DaemonSet (host mode). */}}
{{- define "slipway.nodeCacheContainer" -}}
{{- $root := index . 0 -}}
{{- $sidecar := index . 1 -}}
{{- with $root -}}
{{- $c := .Values.nodeCache -}}
- name: node-cache
  {{- if $sidecar }}
  restartPolicy: Always
  {{- end }}
  image: {{ include "slipway.image" (list . $c.image) | quote }}
  imagePullPolicy: {{ $c.image.pullPolicy }}
  command:
    {{- toYaml $c.command | nindent 4 }}
  env:
    # Plain http: it stays on loopback (the node's in host mode, the Pod's in dind mode).
    - name: SLIPWAY_CACHE_LISTEN
      value: {{ printf "127.0.0.1:%v" $c.port | quote }}
    - name: SLIPWAY_CACHE_ROOT
      value: /var/lib/slipway/node-cache
    {{- with $c.metricsPort }}
    # Its hits and misses, on loopback too: in dind mode the agent beside it reads them.
    - name: SLIPWAY_METRICS_ADDR
      value: {{ printf "127.0.0.1:%v" . | quote }}
    {{- end }}
    {{- with include "slipway.optionalEnv" (list (list "SLIPWAY_CACHE_UPSTREAM" $c.upstream) (list "SLIPWAY_CACHE_MAX_BYTES" $c.maxBytes) (list "SLIPWAY_CACHE_TTL" $c.ttl) (list "SLIPWAY_CACHE_SWEEP_INTERVAL_MS" $c.sweepIntervalMs) (list "SLIPWAY_LOG_LEVEL" .Values.logLevel)) }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with $c.upstreamCredentials.existingSecret }}
    - name: SLIPWAY_CACHE_UPSTREAM_USERNAME
      valueFrom:
        secretKeyRef: { name: {{ . }}, key: {{ $c.upstreamCredentials.usernameKey }} }
    - name: SLIPWAY_CACHE_UPSTREAM_PASSWORD
      valueFrom:
        secretKeyRef: { name: {{ . }}, key: {{ $c.upstreamCredentials.passwordKey }} }
    {{- end }}
  # It listens on loopback only, which the kubelet's httpGet (the Pod's IP) cannot reach: node
  # in the container asks the mirror's /v2/ (the front answers 503 while its registry is down).
  # Its registry cannot start while the upstream is unreachable (registry 2.8 asks the upstream
  # for its auth challenge at start): then the front answers 503 and the Pod is not ready, but
  # liveness (any answer) does not restart it, and as a sidecar it has no startupProbe, so an
  # upstream outage never holds back the dind daemon and the agent (dockerd falls back from its
  # mirror to the registry itself).
  {{- $probe := include "slipway.loopbackProbe" (list (printf "http://127.0.0.1:%v/v2/" $c.port) 500) }}
  {{- if not $sidecar }}
  startupProbe:
    {{- include "slipway.loopbackProbe" (list (printf "http://127.0.0.1:%v/v2/" $c.port) 600) | nindent 4 }}
    periodSeconds: 2
    timeoutSeconds: 5
    failureThreshold: 60
  {{- end }}
  readinessProbe:
    {{- $probe | nindent 4 }}
    periodSeconds: 20
    timeoutSeconds: 5
  livenessProbe:
    {{- include "slipway.loopbackProbe" (list (printf "http://127.0.0.1:%v/v2/" $c.port) 600) | nindent 4 }}
    periodSeconds: 30
    timeoutSeconds: 5
    failureThreshold: 4
  resources:
    {{- toYaml $c.resources | nindent 4 }}
  securityContext:
    {{- toYaml $c.securityContext | nindent 4 }}
  volumeMounts:
    # Holds the 0600 registry.yml with the upstream credentials: private to this Pod.
    - { name: node-cache, mountPath: /var/lib/slipway/node-cache }
    - { name: node-cache-tmp, mountPath: /tmp }
{{- end -}}
{{- end -}}

{{- define "slipway.nodeCacheVolumes" -}}
- name: node-cache
  emptyDir: { sizeLimit: {{ .Values.nodeCache.storageSizeLimit }} }
- name: node-cache-tmp
  emptyDir: { sizeLimit: 64Mi }
{{- end -}}
