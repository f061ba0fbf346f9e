import { createHash } from 'node:crypto';
import { buildConfigSpecSchema } from '../../api/schema.js';
import { GROUP, RESOURCES, VERSION, type ResourceInfo } from './resources.js';

/**
 * The OpenAPI v3 document of the group (`/openapi/v3/apis/build.slipway.dev/v1`), made from the
 * BuildConfig JSON Schema in api/schema.ts: `kubectl explain` reads the schemas
 * (found by `x-kubernetes-group-version-kind`), and `kubectl apply` reads the paths to learn
 * that the server validates fields itself (`fieldValidation`).
 */

const PREFIX = 'dev.slipway.build.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const gvk = (kind: string) => [{ group: GROUP, version: VERSION, kind }];

/** A JSON Schema (draft 2020, as ajv reads it) as an OpenAPI 3.0 schema. */
export function toOpenApiSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toOpenApiSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'const') out.enum = [v];
    else if (k === 'type' && Array.isArray(v)) {
      // string or number: a Kubernetes quantity
      out['x-kubernetes-int-or-string'] = true;
      out.anyOf = v.map((t: string) => ({ type: t === 'number' ? 'integer' : t }));
    } else out[k] = toOpenApiSchema(v);
  }
  return out;
}

const str = (description: string) => ({ type: 'string', description });

function schemas(): Record<string, unknown> {
  const spec = toOpenApiSchema(buildConfigSpecSchema) as Record<string, unknown>;
  const typeMeta = {
    apiVersion: str(
      'APIVersion defines the versioned schema of this representation of an object: build.slipway.dev/v1.',
    ),
    kind: str('Kind is a string value representing the REST resource this object represents.'),
  };
  const object = (kind: string, description: string, properties: Record<string, unknown>) => ({
    type: 'object',
    description,
    properties: {
      ...typeMeta,
      metadata: { allOf: [ref(`${META}.ObjectMeta`)], default: {}, description: 'Standard object metadata.' },
      ...properties,
    },
    'x-kubernetes-group-version-kind': gvk(kind),
  });
  const list = (r: ResourceInfo) => ({
    type: 'object',
    description: `A list of ${r.kind}s.`,
    required: ['items'],
    properties: {
      ...typeMeta,
      items: { type: 'array', items: { allOf: [ref(`${PREFIX}.${r.kind}`)], default: {} } },
      metadata: { allOf: [ref(`${META}.ListMeta`)], default: {} },
    },
    'x-kubernetes-group-version-kind': gvk(r.listKind),
  });
  const condition = {
    type: 'object',
    properties: {
      type: str('Running or Succeeded.'),
      status: str('True, False or Unknown.'),
      reason: str('CamelCase reason of the last transition.'),
      message: str('Human-readable details.'),
      lastTransitionTime: { type: 'string', format: 'date-time' },
    },
  };
  return {
    [`${PREFIX}.BuildConfig`]: object(
      'BuildConfig',
      'How to build an image: where the source comes from, the strategy, and where the image goes. Start a build with the instantiate subresource.',
      {
        spec: { ...spec, description: 'What builds of this config do. Builds take a frozen copy when they start.' },
        status: {
          type: 'object',
          description: 'Observed state.',
          properties: {
            lastVersion: { type: 'integer', description: 'Number of the latest build started from this config.' },
          },
        },
      },
    ),
    [`${PREFIX}.BuildConfigList`]: list(RESOURCES[0]!),
    [`${PREFIX}.Build`]: object(
      'Build',
      'One run of a BuildConfig, made by its instantiate subresource. Its spec is fixed; its status is set by Slipway.',
      {
        spec: {
          type: 'object',
          description: 'The frozen configuration of this build.',
          properties: {
            configName: str('The BuildConfig it was started from.'),
            configGeneration: { type: 'integer', description: "The config's generation when the build started." },
            config: {
              ...spec,
              description: "A copy of the config's spec when the build started, with the request's overrides.",
            },
            platform: str('A platform build: the one platform it makes (os/arch[/variant]), pushed by digest only.'),
            parent: str('A platform build: the build of several platforms it is part of.'),
            triggeredBy: {
              type: 'array',
              description: 'Why the build was started (a client, a webhook, a new image, a changed config).',
              items: {
                type: 'object',
                properties: {
                  type: str('Manual, GitHub, GitLab, Bitbucket, Gitea, Generic, ImageChange or ConfigChange.'),
                  message: str('What started it, in words.'),
                  git: {
                    type: 'object',
                    description: 'Webhook causes: what was pushed.',
                    properties: {
                      ref: str('The ref pushed.'),
                      commit: str('The commit pushed.'),
                      deliveryId: str("The webhook delivery's id."),
                    },
                  },
                  imageChange: {
                    type: 'object',
                    description: 'ImageChange: the image and its new digest.',
                    properties: { image: str('The image watched.'), digest: str('Its new digest.') },
                  },
                },
              },
            },
          },
        },
        status: {
          type: 'object',
          description: 'Where the build is.',
          properties: {
            phase: str('New, Pending, Running, Complete, Failed, Error or Cancelled.'),
            reason: str('Stable CamelCase reason for the phase (e.g. InvalidGitRef, PushImageFailed, AgentLost).'),
            message: str('Human-readable details.'),
            conditions: { type: 'array', items: condition, description: 'Running and Succeeded.' },
            attempt: { type: 'integer', description: 'Which attempt runs (0 until the first is assigned).' },
            agent: str('The agent running the build.'),
            node: str('The node of that agent.'),
            queuedTimestamp: { type: 'string', format: 'date-time' },
            startTimestamp: { type: 'string', format: 'date-time' },
            completionTimestamp: { type: 'string', format: 'date-time' },
            exitCode: { type: 'integer', description: 'Exit code of the failed build step.' },
            output: {
              type: 'object',
              properties: { image: str('The image pushed.'), digest: str('Its manifest digest.') },
            },
            commit: str('The git commit built.'),
            cancelRequested: { type: 'boolean' },
            logLines: { type: 'integer', description: "Lines in the final attempt's log." },
            stages: {
              type: 'array',
              description:
                "The final attempt's stages as its agent timed them, in the order they ran; only those it reached.",
              items: {
                type: 'object',
                properties: {
                  name: str('FetchInputs, PullImages, Build or PushImage.'),
                  startTimestamp: {
                    type: 'string',
                    format: 'date-time',
                    description: "When it began (the agent's clock).",
                  },
                  durationMs: {
                    type: 'integer',
                    description:
                      'How long it took, in milliseconds; for the stage a build failed in, until the failure.',
                  },
                },
              },
            },
            previousAttempt: {
              type: 'object',
              description:
                'How the attempt before the current one ended, when it was handed back or lost with its agent and the build got a new attempt; kept while later attempts wait, run and end (reason then says why the build waits).',
              properties: {
                attempt: { type: 'integer', description: 'Its number.' },
                reason: str('AgentShutdown (its agent stopped before the build finished) or AgentLost.'),
                message: str('Human-readable details.'),
                agent: str('The agent that held it.'),
                node: str('The node of that agent.'),
                completionTimestamp: {
                  type: 'string',
                  format: 'date-time',
                  description: 'When it was handed back or found lost.',
                },
              },
            },
            sourceImages: {
              type: 'array',
              description:
                "The digests spec.config.source.images were resolved to at the build's first attempt, in their order; every later attempt copies from them.",
              items: {
                type: 'object',
                properties: {
                  from: str('As source.images[].from names it.'),
                  digest: str('The manifest digest copied from.'),
                },
              },
            },
            platforms: {
              type: 'array',
              description:
                "A build of several platforms (spec.config.output.platforms): each platform's build as it stands; output is then the image index naming them.",
              items: {
                type: 'object',
                properties: {
                  platform: str('os/arch[/variant], e.g. linux/arm64.'),
                  build: str("The platform's build (this build's name and the platform)."),
                  phase: str("The platform build's phase."),
                  reason: str('Its reason.'),
                  message: str('Its message.'),
                  digest: str("The platform image's manifest digest, once pushed."),
                  agent: str('The agent that built it.'),
                  node: str('The node of that agent.'),
                },
              },
            },
            logSnippet: str(
              'A build that did not complete: the last lines of its log (at most 20 lines, 4 KiB), secrets masked.',
            ),
            events: {
              type: 'array',
              description: 'What happened to the build, oldest first; the newest 30 are kept.',
              items: {
                type: 'object',
                properties: {
                  type: str('Normal or Warning.'),
                  reason: str(
                    'CamelCase: Queued, Scheduled, Started, Pushed, Complete, Failed, Error, Cancelled, CancelRequested, AttemptLost, Retrying, DeadlineExceeded...',
                  ),
                  message: str('Human-readable details.'),
                  timestamp: { type: 'string', format: 'date-time' },
                },
              },
            },
          },
        },
      },
    ),
    [`${PREFIX}.BuildList`]: list(RESOURCES[1]!),
    [`${PREFIX}.BuildRequest`]: {
      type: 'object',
      description: 'Starts a build of a BuildConfig (POST to buildconfigs/NAME/instantiate).',
      properties: {
        ...typeMeta,
        metadata: { allOf: [ref(`${META}.ObjectMeta`)], default: {} },
        ref: str("Git ref to build instead of the config's."),
        image: str("Image to push instead of the config's."),
      },
      'x-kubernetes-group-version-kind': gvk('BuildRequest'),
    },
    [`${META}.ObjectMeta`]: {
      type: 'object',
      description: 'ObjectMeta is metadata that all persisted resources must have.',
      properties: {
        name: str('Name must be unique within a namespace.'),
        namespace: str('Namespace defines the space within which each name must be unique.'),
        uid: str('UID is the unique in time and space value for this object.'),
        resourceVersion: str(
          'An opaque value that represents the internal version of this object (the store revision).',
        ),
        generation: {
          type: 'integer',
          format: 'int64',
          description: 'A sequence number representing a specific generation of the desired state.',
        },
        creationTimestamp: { type: 'string', format: 'date-time', description: 'When this object was created.' },
        labels: {
          type: 'object',
          additionalProperties: { type: 'string', default: '' },
          description: 'Map of string keys and values to organize and categorize objects.',
        },
        annotations: {
          type: 'object',
          additionalProperties: { type: 'string', default: '' },
          description: 'Unstructured key value map stored with a resource.',
        },
      },
    },
    [`${META}.ListMeta`]: {
      type: 'object',
      properties: {
        resourceVersion: str('The store revision the list is at; watch from it.'),
        continue: { type: 'string' },
      },
    },
    [`${META}.Status`]: {
      type: 'object',
      properties: {
        ...typeMeta,
        status: { type: 'string' },
        message: { type: 'string' },
        reason: { type: 'string' },
        code: { type: 'integer' },
      },
    },
  };
}

function op(
  r: ResourceInfo | { kind: string },
  action: string,
  verb: string,
  schema: string,
  extra: Record<string, unknown> = {},
) {
  return {
    operationId: `${verb}${r.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: GROUP, version: VERSION, kind: r.kind },
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref(schema) } } } },
    ...extra,
  };
}

const param = (name: string, where: 'path' | 'query') => ({
  name,
  in: where,
  ...(where === 'path' ? { required: true } : {}),
  schema: { type: 'string', uniqueItems: true },
});

function paths(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const base = `/apis/${GROUP}/${VERSION}`;
  const body = (schema: string) => ({ requestBody: { content: { '*/*': { schema: ref(schema) } }, required: true } });
  for (const r of RESOURCES) {
    const s = `${PREFIX}.${r.kind}`;
    const writable = r.verbs.includes('update');
    out[`${base}/namespaces/{namespace}/${r.plural}`] = {
      parameters: [param('namespace', 'path')],
      get: op(r, 'list', 'list', `${PREFIX}.${r.listKind}`, {
        parameters: [
          'labelSelector',
          'fieldSelector',
          'resourceVersion',
          'watch',
          'allowWatchBookmarks',
          'timeoutSeconds',
        ].map((p) => param(p, 'query')),
      }),
      ...(r.verbs.includes('create')
        ? { post: op(r, 'post', 'create', s, { ...body(s), parameters: [param('fieldValidation', 'query')] }) }
        : {}),
    };
    out[`${base}/namespaces/{namespace}/${r.plural}/{name}`] = {
      parameters: [param('name', 'path'), param('namespace', 'path')],
      get: op(r, 'get', 'read', s),
      delete: op(r, 'delete', 'delete', `${META}.Status`),
      ...(writable
        ? {
            put: op(r, 'put', 'replace', s, { ...body(s), parameters: [param('fieldValidation', 'query')] }),
            patch: op(r, 'patch', 'patch', s, {
              requestBody: {
                content: { 'application/merge-patch+json': { schema: { type: 'object' } } },
                required: true,
              },
              parameters: [param('fieldValidation', 'query')],
            }),
          }
        : {}),
    };
    out[`${base}/${r.plural}`] = { get: op(r, 'list', 'listAllNamespaces', `${PREFIX}.${r.listKind}`) };
  }
  out[`${base}/namespaces/{namespace}/buildconfigs/{name}/instantiate`] = {
    parameters: [param('name', 'path'), param('namespace', 'path')],
    post: op({ kind: 'BuildRequest' }, 'post', 'instantiate', `${PREFIX}.Build`, body(`${PREFIX}.BuildRequest`)),
  };
  out[`${base}/namespaces/{namespace}/builds/{name}/log`] = {
    parameters: [param('name', 'path'), param('namespace', 'path'), param('follow', 'query')],
    get: {
      operationId: 'readBuildLog',
      responses: {
        '200': {
          description: 'The log, one line per build output line',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
    },
  };
  return out;
}

let cached: { doc: string; hash: string } | undefined;

/** The group-version document, serialised once, and its hash (the index's cache key). */
export function groupVersionDocument(): { doc: string; hash: string } {
  if (!cached) {
    const doc = JSON.stringify({
      openapi: '3.0.0',
      info: { title: 'Slipway', version: VERSION },
      paths: paths(),
      components: { schemas: schemas() },
    });
    cached = { doc, hash: createHash('sha512').update(doc).digest('hex').slice(0, 128).toUpperCase() };
  }
  return cached;
}

/** `/openapi/v3`: the index naming each group-version's document. */
export function openApiIndex() {
  return {
    paths: {
      [`apis/${GROUP}/${VERSION}`]: {
        serverRelativeURL: `/openapi/v3/apis/${GROUP}/${VERSION}?hash=${groupVersionDocument().hash}`,
      },
    },
  };
}
