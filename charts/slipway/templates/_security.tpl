{{/* gRPC TLS, agent mutual TLS and NATS credentials: the env, mounts and volumes they add. */}}

{{/* The Secret with the coordinators' gRPC serving certificate. */}}
{{- define "slipway.grpcTlsSecret" -}}
{{- default (printf "%s-coordinator-grpc-tls" (include "slipway.fullname" .)) .Values.grpcTls.existingSecret -}}
{{- end -}}

{{/* A volume source of a CA: (list ROOT CA-VALUES DEFAULT-SECRET); a ConfigMap when existingConfigMap is set. */}}
{{- define "slipway.caVolumeSource" -}}
{{- $ca := index . 1 -}}
{{- if $ca.existingConfigMap -}}
configMap: { name: {{ $ca.existingConfigMap }}, items: [{ key: {{ $ca.key }}, path: ca.crt }] }
{{- else -}}
secret: { secretName: {{ default (index . 2) $ca.existingSecret }}, items: [{ key: {{ $ca.key }}, path: ca.crt }] }
{{- end -}}
{{- end -}}

{{/* NATS credentials of one process: include "slipway.natsAuthEnv" (list . "coordinator"). */}}
{{- define "slipway.natsAuthEnv" -}}
{{- $top := index . 0 -}}
{{- $auth := index $top.Values.natsAuth (index . 1) -}}
{{- if $auth.existingSecret }}
{{- if eq $auth.type "creds" }}
- name: SLIPWAY_NATS_CREDS
  value: {{ printf "/etc/slipway/nats/%s" $auth.credsKey | quote }}
{{- else }}
- name: SLIPWAY_NATS_USER
  valueFrom:
    secretKeyRef: { name: {{ $auth.existingSecret }}, key: {{ $auth.userKey }} }
- name: SLIPWAY_NATS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $auth.existingSecret }}, key: {{ $auth.passwordKey }} }
{{- end }}
{{- end }}
{{- with $top.Values.natsAuth.tlsCA }}
{{- if or .existingSecret .existingConfigMap }}
# The NATS servers' CA, added to Node's trusted CAs (nats.js verifies tls:// servers with them).
- name: NODE_EXTRA_CA_CERTS
  value: /etc/slipway/nats-ca/ca.crt
{{- end }}
{{- end }}
{{- end -}}

{{- define "slipway.natsAuthMounts" -}}
{{- $top := index . 0 -}}
{{- $auth := index $top.Values.natsAuth (index . 1) -}}
{{- if and $auth.existingSecret (eq $auth.type "creds") }}
- { name: nats-creds, mountPath: /etc/slipway/nats, readOnly: true }
{{- end }}
{{- if or $top.Values.natsAuth.tlsCA.existingSecret $top.Values.natsAuth.tlsCA.existingConfigMap }}
- { name: nats-ca, mountPath: /etc/slipway/nats-ca, readOnly: true }
{{- end }}
{{- end -}}

{{/* Volumes for natsAuthMounts; 0444: the agent Pod has no fsGroup, and its processes run as non-root users. */}}
{{- define "slipway.natsAuthVolumes" -}}
{{- $top := index . 0 -}}
{{- $auth := index $top.Values.natsAuth (index . 1) -}}
{{- if and $auth.existingSecret (eq $auth.type "creds") }}
- name: nats-creds
  secret: { secretName: {{ $auth.existingSecret }}, defaultMode: 0444, items: [{ key: {{ $auth.credsKey }}, path: {{ $auth.credsKey }} }] }
{{- end }}
{{- if or $top.Values.natsAuth.tlsCA.existingSecret $top.Values.natsAuth.tlsCA.existingConfigMap }}
- name: nats-ca
  {{- include "slipway.caVolumeSource" (list $top $top.Values.natsAuth.tlsCA "") | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The address agents reach AgentService at: the agents' own port with mutual TLS. */}}
{{- define "slipway.agentServiceAddr" -}}
{{- $port := ternary .Values.agentMtls.port .Values.coordinator.grpcPort .Values.agentMtls.enabled -}}
{{- printf "%s-coordinator.%s.svc:%v" (include "slipway.fullname" .) .Release.Namespace $port -}}
{{- end -}}

{{/* An exec probe that GETs a loopback URL with the image's node: (list URL OK-BELOW-STATUS). */}}
{{- define "slipway.loopbackProbe" -}}
exec:
  command:
    - node
    - -e
    - {{ printf "fetch('%s',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status<%v?0:1),()=>process.exit(1))" (index . 0) (index . 1) | quote }}
{{- end -}}

{{/* The coordinator's gRPC TLS and NATS credential settings. */}}
{{- define "slipway.coordinatorSecurityEnv" -}}
{{- if .Values.grpcTls.enabled }}
- name: SLIPWAY_GRPC_TLS_CERT
  value: /etc/slipway/grpc-tls/tls.crt
- name: SLIPWAY_GRPC_TLS_KEY
  value: /etc/slipway/grpc-tls/tls.key
{{- end }}
{{- if .Values.agentMtls.enabled }}
# AgentService only here, only for certificates the agents' CA signed.
- name: SLIPWAY_AGENT_GRPC_LISTEN
  value: {{ printf "0.0.0.0:%v" .Values.agentMtls.port | quote }}
- name: SLIPWAY_GRPC_CLIENT_CA
  value: /etc/slipway/agent-ca/ca.crt
{{- end }}
{{- include "slipway.natsAuthEnv" (list . "coordinator") }}
{{- end -}}

{{- define "slipway.coordinatorSecurityMounts" -}}
{{- if .Values.grpcTls.enabled }}
- { name: grpc-tls, mountPath: /etc/slipway/grpc-tls, readOnly: true }
{{- end }}
{{- if .Values.agentMtls.enabled }}
- { name: agent-ca, mountPath: /etc/slipway/agent-ca, readOnly: true }
{{- end }}
{{- include "slipway.natsAuthMounts" (list . "coordinator") }}
{{- end -}}

{{- define "slipway.coordinatorSecurityVolumes" -}}
{{- if .Values.grpcTls.enabled }}
- name: grpc-tls
  secret: { secretName: {{ include "slipway.grpcTlsSecret" . }}, defaultMode: 0440, items: [{ key: tls.crt, path: tls.crt }, { key: tls.key, path: tls.key }] }
{{- end }}
{{- if .Values.agentMtls.enabled }}
- name: agent-ca
  {{- include "slipway.caVolumeSource" (list . .Values.agentMtls.clientCA "") | nindent 2 }}
{{- end }}
{{- include "slipway.natsAuthVolumes" (list . "coordinator") }}
{{- end -}}

{{/* The agent's TLS to the coordinator and its NATS credentials. */}}
{{- define "slipway.agentSecurityEnv" -}}
{{- if .Values.grpcTls.enabled }}
- name: SLIPWAY_AGENT_TLS_CA
  value: /etc/slipway/grpc-ca/ca.crt
{{- end }}
{{- if .Values.agentMtls.enabled }}
# This Pod's own certificate (csi-driver, CN = the Pod's name, the agent's name).
- name: SLIPWAY_AGENT_TLS_CERT
  value: /etc/slipway/agent-tls/tls.crt
- name: SLIPWAY_AGENT_TLS_KEY
  value: /etc/slipway/agent-tls/tls.key
{{- end }}
{{- include "slipway.natsAuthEnv" (list . "agent") }}
{{- end -}}

{{- define "slipway.agentSecurityMounts" -}}
{{- if .Values.grpcTls.enabled }}
- { name: grpc-ca, mountPath: /etc/slipway/grpc-ca, readOnly: true }
{{- end }}
{{- if .Values.agentMtls.enabled }}
- { name: agent-tls, mountPath: /etc/slipway/agent-tls, readOnly: true }
{{- end }}
{{- include "slipway.natsAuthMounts" (list . "agent") }}
{{- end -}}

{{/* (list ROOT AGENT-GROUP): the group the csi-driver makes the key readable by (null: root). */}}
{{- define "slipway.agentSecurityVolumes" -}}
{{- $top := index . 0 -}}
{{- $group := index . 1 -}}
{{- with $top }}
{{- if .Values.grpcTls.enabled }}
- name: grpc-ca
  {{- include "slipway.caVolumeSource" (list . .Values.grpcTls.ca (include "slipway.grpcTlsSecret" .)) | nindent 2 }}
{{- end }}
{{- if .Values.agentMtls.enabled }}
{{- $csi := .Values.agentMtls.csi }}
- name: agent-tls
  csi:
    driver: {{ $csi.driver }}
    readOnly: true
    volumeAttributes:
      csi.cert-manager.io/issuer-name: {{ $csi.issuerRef.name | quote }}
      csi.cert-manager.io/issuer-kind: {{ $csi.issuerRef.kind | quote }}
      csi.cert-manager.io/issuer-group: {{ $csi.issuerRef.group | quote }}
      # The driver fills in the Pod's name: the agent's name (SLIPWAY_AGENT_NAME), which the
      # coordinator checks every AgentService call against.
      csi.cert-manager.io/common-name: "${POD_NAME}"
      csi.cert-manager.io/key-usages: "digital signature,key encipherment,client auth"
      csi.cert-manager.io/duration: {{ $csi.duration | quote }}
      {{- if not (kindIs "invalid" $group) }}
      csi.cert-manager.io/fs-group: {{ $group | quote }}
      {{- end }}
{{- end }}
{{- include "slipway.natsAuthVolumes" (list . "agent") }}
{{- end }}
{{- end -}}
