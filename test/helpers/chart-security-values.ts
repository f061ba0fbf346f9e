/** Values files that switch the chart's security and day-2 options on (tests render them). */

/** Everything on: TLS from cert-manager, agent mTLS, NATS creds files, policies, Ingress, monitors. */
export const SECURE = `
nats: { url: "tls://nats.nats-system.svc:4222" }
grpcTls:
  enabled: true
  certManager: { issuerRef: { name: slipway-ca, kind: Issuer } }
agentMtls:
  enabled: true
  clientCA: { existingSecret: slipway-agents-ca }
  csi: { issuerRef: { name: slipway-agents, kind: Issuer } }
natsAuth:
  coordinator: { existingSecret: slipway-nats-coordinator, type: creds }
  agent: { existingSecret: slipway-nats-agent, type: creds }
  tlsCA: { existingConfigMap: nats-ca }
networkPolicy:
  enabled: true
  grpcClients: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: ci } } }]
  httpClients: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: ingress-nginx } } }]
  monitoring: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: monitoring } } }]
webhookIngress:
  enabled: true
  className: nginx
  hosts: [slipway.example.com]
  tls: [{ secretName: slipway-webhooks-tls, hosts: [slipway.example.com] }]
monitoring:
  serviceMonitor: { enabled: true, interval: 30s, labels: { release: prometheus } }
  podMonitor: { enabled: true }
agent:
  metrics: { enabled: true }
nodeCache: { enabled: true }
`;

/** TLS from an existing Secret, its CA in a ConfigMap; NATS user and password. */
export const SECRETS = `
nats: { url: "nats://nats.nats-system.svc:4222" }
grpcTls:
  enabled: true
  existingSecret: slipway-grpc
  ca: { existingConfigMap: slipway-grpc-ca, key: ca.pem }
natsAuth:
  coordinator: { existingSecret: slipway-nats-coordinator }
  agent: { existingSecret: slipway-nats-agent, userKey: name, passwordKey: secret }
`;
