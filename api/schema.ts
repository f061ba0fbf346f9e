/**
 * The JSON Schema of a BuildConfig document. It decides which fields exist and their types
 * (unknown fields are refused); the semantic checks (image references, quantities, git URIs)
 * are in validation.ts. The same schema is meant to be served as the OpenAPI v3 document of the
 * Kubernetes API, so descriptions here are what `kubectl explain` will show.
 */
const nonEmpty = { type: 'string', minLength: 1 } as const;

const secretReference = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: nonEmpty },
} as const;

const nameValue = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: nonEmpty, value: { type: 'string' } },
} as const;

export const buildConfigSpecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['source', 'strategy', 'output'],
  properties: {
    source: {
      type: 'object',
      description: 'Where the build context comes from.',
      additionalProperties: false,
      properties: {
        dockerfile: {
          type: 'string',
          description: 'An inline Dockerfile, used instead of one in the source; git may then be left out.',
        },
        binary: {
          type: 'object',
          description: 'Present ({}) when builds of this config take a context uploaded with StartBuildWithContext.',
          additionalProperties: false,
          properties: {},
        },
        git: {
          type: 'object',
          additionalProperties: false,
          required: ['uri'],
          properties: {
            uri: { ...nonEmpty, description: 'git://, http(s)://, ssh:// or user@host:path URI of the repository.' },
            ref: { type: 'string', description: 'Branch, tag or full commit id; empty: the default branch.' },
            submodules: {
              type: 'boolean',
              description:
                "Check out the repository's submodules too (recursively; relative URLs resolved against uri; the source secret goes only to uri's host). Default true.",
            },
          },
        },
        contextDir: { type: 'string', description: 'Folder inside the source used as the build context.' },
        images: {
          type: 'array',
          description:
            "Paths copied out of other images into the build's context, after the git source or upload (or into an empty context). A tag is resolved to a digest at the build's start (status.sourceImages).",
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['from', 'paths'],
            properties: {
              from: { ...nonEmpty, description: 'The image: registry/repository[:tag] or @sha256:... digest.' },
              pullSecret: { ...secretReference, description: 'A docker-registry secret for pulling the image.' },
              paths: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['sourcePath'],
                  properties: {
                    sourcePath: {
                      ...nonEmpty,
                      description:
                        "Absolute path in the image: a file, or a folder copied with its name; ending in '/.', the folder's contents.",
                    },
                    destinationDir: {
                      type: 'string',
                      description: "Folder in the build's context it goes into: relative, no '..'; default the root.",
                    },
                  },
                },
              },
            },
          },
        },
        sourceSecret: {
          ...secretReference,
          description: 'A basic-auth or ssh-auth secret for fetching the git source.',
        },
      },
    },
    strategy: {
      type: 'object',
      description:
        'How the image is built: docker (a Dockerfile), source (Source-to-Image) or custom (a builder image of your own); exactly one.',
      additionalProperties: false,
      properties: {
        custom: {
          type: 'object',
          additionalProperties: false,
          required: ['image'],
          description:
            'A builder image of your own: it gets the build in SLIPWAY_* variables and the source at /workspace/source, pushes output.image itself, and its exit code decides the build.',
          properties: {
            image: { ...nonEmpty, description: 'The builder image.' },
            env: {
              type: 'array',
              items: nameValue,
              description: 'More environment of the builder (no SLIPWAY_* names).',
            },
            exposeDockerSocket: {
              type: 'boolean',
              description:
                "Give the builder the build's own Docker daemon (DOCKER_HOST); only on agents with a private daemon per build.",
            },
            forcePull: { type: 'boolean' },
            pullSecret: { ...secretReference, description: 'A docker-registry secret for pulling the builder image.' },
            secrets: {
              type: 'array',
              description: 'Opaque secrets the builder reads as files, at /slipway/secrets/ID.',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['id', 'secret'],
                properties: {
                  id: { ...nonEmpty, description: "The file's name: letters, digits, '.', '_', '-'." },
                  secret: { ...secretReference, description: 'An opaque secret in the build namespace.' },
                },
              },
            },
          },
        },
        source: {
          type: 'object',
          additionalProperties: false,
          required: ['builderImage'],
          properties: {
            builderImage: { ...nonEmpty, description: 'The Source-to-Image builder image.' },
            scriptsUrl: {
              type: 'string',
              description:
                "image:///path or http(s) URL of the s2i scripts; default: the builder's io.openshift.s2i.scripts-url label.",
            },
            env: { type: 'array', items: nameValue, description: 'Environment of assemble and of the output image.' },
            incremental: {
              type: 'boolean',
              description: "Reuse the previous image's artifacts through save-artifacts.",
            },
            forcePull: { type: 'boolean' },
            pullSecret: { ...secretReference, description: 'A docker-registry secret for pulling the builder image.' },
          },
        },
        docker: {
          type: 'object',
          additionalProperties: false,
          properties: {
            dockerfilePath: { type: 'string', description: 'Relative to the context; default Dockerfile.' },
            buildArgs: { type: 'array', items: nameValue },
            noCache: { type: 'boolean' },
            env: {
              type: 'array',
              items: nameValue,
              description: 'Environment of the last stage, added as ENV after its FROM.',
            },
            target: { type: 'string', description: 'Stage to build in a multi-stage Dockerfile.' },
            forcePull: { type: 'boolean', description: 'Pull base images even when the node has them.' },
            from: { type: 'string', description: "Replaces the image of the Dockerfile's last FROM." },
            pullSecret: { ...secretReference, description: 'A docker-registry secret for pulling the base images.' },
            secrets: {
              type: 'array',
              description:
                'BuildKit build secrets: RUN --mount=type=secret,id=ID reads the value of the opaque secret named here.',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['id', 'secret'],
                properties: {
                  id: { ...nonEmpty, description: "The mount's id: letters, digits, '.', '_', '-'." },
                  secret: { ...secretReference, description: 'An opaque secret in the build namespace.' },
                },
              },
            },
          },
        },
      },
    },
    output: {
      type: 'object',
      additionalProperties: false,
      required: ['image'],
      properties: {
        image: { ...nonEmpty, description: 'registry/repository:tag the image is pushed to.' },
        pushSecret: { ...secretReference, description: 'A docker-registry secret for pushing the image.' },
        platforms: {
          type: 'array',
          items: { type: 'string' },
          description:
            "Platforms to build natively (os/arch[/variant], e.g. linux/arm64), each on an agent whose node has that kubernetes.io/arch and kubernetes.io/os; an image index naming them all is pushed to image. Docker strategy only. Unset: the node's own platform.",
        },
      },
    },
    resources: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cpu: { type: ['string', 'number'], description: 'CPU limit, a Kubernetes quantity ("500m", "2").' },
        memory: { type: ['string', 'number'], description: 'Memory limit, a Kubernetes quantity ("512Mi").' },
      },
    },
    completionDeadlineSeconds: {
      type: 'integer',
      description: 'A running build past this many seconds is stopped and fails with DeadlineExceeded.',
    },
    pendingDeadlineSeconds: {
      type: 'integer',
      description:
        'A build not placed on an agent this many seconds after it was queued fails with the reason it waited for (NoMatchingAgent, WaitingForCapacity, MissingPushSecret, AgentDraining).',
    },
    retries: {
      type: 'integer',
      description: 'New attempts allowed when an attempt is lost with its agent (AgentLost, AgentShutdown).',
    },
    nodeSelector: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description:
        "Labels the build's node must have (Kubernetes label keys and values); only agents on such nodes run it.",
    },
    security: {
      type: 'object',
      additionalProperties: false,
      description: "What the build's RUN steps may be on its node.",
      properties: {
        unprivileged: {
          type: 'boolean',
          description:
            'Run only on an agent whose builds run in a user namespace (root in a RUN step is an unprivileged uid on the node); with none, the build waits with NoMatchingAgent.',
        },
      },
    },
    triggers: {
      type: 'array',
      description:
        'What starts builds of this config besides StartBuild: webhooks (GitHub, GitLab, Bitbucket, Gitea for Gitea and Forgejo, Generic), ImageChange, ConfigChange.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type'],
        properties: {
          type: { enum: ['GitHub', 'GitLab', 'Bitbucket', 'Gitea', 'Generic', 'ImageChange', 'ConfigChange'] },
          secret: {
            ...secretReference,
            description:
              'Webhooks (GitHub, GitLab, Bitbucket, Gitea, Generic): a webhook secret in the namespace; its value signs or authenticates deliveries.',
          },
          imageChange: {
            type: 'object',
            additionalProperties: false,
            properties: {
              from: {
                type: 'string',
                description:
                  "ImageChange: the image whose new digests start a build; default: the strategy's docker.from, source.builderImage or custom.image.",
              },
            },
          },
        },
      },
    },
    runPolicy: {
      enum: ['Parallel', 'Serial', 'SerialLatestOnly'],
      description:
        'Parallel (default): builds run at once. Serial: one at a time in creation order. SerialLatestOnly: one at a time, older queued builds are cancelled (Superseded).',
    },
    successfulBuildsHistoryLimit: {
      type: 'integer',
      description: 'Complete builds kept, with their logs; the oldest are pruned. Default: all.',
    },
    failedBuildsHistoryLimit: {
      type: 'integer',
      description: 'Failed, Error and Cancelled builds kept, with their logs; the oldest are pruned. Default: all.',
    },
  },
} as const;

export const buildConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['metadata', 'spec'],
  properties: {
    apiVersion: { const: 'build.slipway.dev/v1' },
    kind: { const: 'BuildConfig' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { type: 'string' },
        namespace: { type: 'string' },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    spec: buildConfigSpecSchema,
  },
} as const;
