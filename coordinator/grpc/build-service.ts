import type * as grpc from '@grpc/grpc-js';
import { toGrpcStatus } from '../../common/grpc/status.js';
import type { Build as PBuild } from '../../proto/generated/slipway/v1/Build.js';
import type { StartBuildUpload__Output } from '../../proto/generated/slipway/v1/StartBuildUpload.js';
import type { ContextStore } from '../uploads/context-store.js';
import { InvalidInputError } from '../../common/errors.js';
import { slipwayProto } from '../../common/grpc/proto.js';
import type { Logger } from '../../common/log.js';
import type { BuildServiceHandlers } from '../../proto/generated/slipway/v1/BuildService.js';
import { DEFAULT_NAMESPACE, type BuildPhase } from '../../api/types.js';
import { nameErrors } from '../../api/validation.js';
import type { BuildApi } from '../builds/build-api.js';
import type { BuildLogs } from '../logs/build-logs.js';
import { oneLineEach } from '../logs/log-reader.js';
import {
  MAX_OPAQUE_SECRET_LENGTH,
  MAX_WEBHOOK_SECRET_LENGTH,
  MIN_OPAQUE_SECRET_LENGTH,
  SECRET_TYPES,
  type SecretStore,
  type SecretType,
} from '../secrets/secret-store.js';
import { buildConfigInputFromProto, buildConfigToProto, buildToProto } from './convert.js';
import { CallAuthorizer } from './call-auth.js';
import { serverStream, unary } from './handlers.js';
import { answerMalformedRequests, wellFormed } from './malformed-requests.js';

const ns = (namespace: string) => namespace || DEFAULT_NAMESPACE;

/** The client-facing gRPC service. It registers itself on a server it does not own. */
export class BuildService {
  constructor(
    private readonly api: BuildApi,
    private readonly logs: BuildLogs,
    private readonly secrets: SecretStore,
    private readonly contexts: ContextStore,
    private readonly log: Logger,
    /** Who may call what; by default everyone may do everything (local use only). */
    private readonly auth = new CallAuthorizer(undefined),
  ) {}

  addTo(server: grpc.Server): void {
    server.addService(...answerMalformedRequests(slipwayProto().slipway.v1.BuildService.service, this.handlers()));
  }

  private handlers(): BuildServiceHandlers {
    const { api, logs, secrets, log, auth } = this;
    return {
      CreateBuildConfig: unary(log, 'CreateBuildConfig', async (req, call) => {
        auth.check(call, 'CreateBuildConfig', ns(req.config?.metadata?.namespace ?? ''));
        const { input } = buildConfigInputFromProto(req.config);
        return buildConfigToProto(await api.createBuildConfig(input));
      }),
      UpdateBuildConfig: unary(log, 'UpdateBuildConfig', async (req, call) => {
        auth.check(call, 'UpdateBuildConfig', ns(req.config?.metadata?.namespace ?? ''));
        const { input, resourceVersion } = buildConfigInputFromProto(req.config);
        return buildConfigToProto(await api.updateBuildConfig(input, resourceVersion));
      }),
      GetBuildConfig: unary(log, 'GetBuildConfig', async (req, call) => {
        auth.check(call, 'GetBuildConfig', ns(req.namespace));
        return buildConfigToProto(await api.getBuildConfig(ns(req.namespace), req.name));
      }),
      ListBuildConfigs: unary(log, 'ListBuildConfigs', async (req, call) => {
        auth.check(call, 'ListBuildConfigs', ns(req.namespace));
        const page = await api.listBuildConfigsPage(ns(req.namespace), { size: req.pageSize, token: req.pageToken });
        return { items: page.items.map(buildConfigToProto), nextPageToken: page.nextToken ?? '' };
      }),
      DeleteBuildConfig: unary(log, 'DeleteBuildConfig', async (req, call) => {
        auth.check(call, 'DeleteBuildConfig', ns(req.namespace));
        await api.deleteBuildConfig(ns(req.namespace), req.name);
        return {};
      }),
      StartBuild: unary(log, 'StartBuild', async (req, call) => {
        auth.check(call, 'StartBuild', ns(req.namespace));
        return buildToProto(
          await api.startBuild({
            namespace: ns(req.namespace),
            configName: req.configName,
            ref: req.ref || undefined,
            image: req.image || undefined,
          }),
        );
      }),
      GetBuild: unary(log, 'GetBuild', async (req, call) => {
        auth.check(call, 'GetBuild', ns(req.namespace));
        return buildToProto(await api.getBuild(ns(req.namespace), req.name));
      }),
      ListBuilds: unary(log, 'ListBuilds', async (req, call) => {
        auth.check(call, 'ListBuilds', ns(req.namespace));
        const page = await api.listBuildsPage(
          {
            namespace: ns(req.namespace),
            configName: req.configName || undefined,
            phase: (req.phase || undefined) as BuildPhase | undefined,
          },
          { size: req.pageSize, token: req.pageToken },
        );
        return { items: page.items.map(buildToProto), nextPageToken: page.nextToken ?? '' };
      }),
      // serverStream answers every error on the call itself: nothing is left to await.
      WatchBuild: (call) =>
        void serverStream(
          log,
          call,
          (signal) => {
            auth.check(call, 'WatchBuild', ns(call.request.namespace));
            return api.watchBuild(ns(call.request.namespace), call.request.name, signal);
          },
          buildToProto,
        ),
      StartBuildWithContext: (call, callback) => {
        this.startWithContext(call).then(
          (build) => callback(null, build),
          (err: unknown) => callback(toGrpcStatus(err)),
        );
      },
      CancelBuild: unary(log, 'CancelBuild', async (req, call) => {
        auth.check(call, 'CancelBuild', ns(req.namespace));
        return buildToProto(await api.cancelBuild(ns(req.namespace), req.name));
      }),
      StreamBuildLogs: (call) =>
        void serverStream(
          log,
          call,
          (signal) => {
            auth.check(call, 'StreamBuildLogs', ns(call.request.namespace));
            const batches = logs.stream(
              {
                namespace: ns(call.request.namespace),
                name: call.request.name,
                follow: call.request.follow,
                fromLine: call.request.fromLine,
                attempt: call.request.attempt,
                platform: call.request.platform || undefined,
              },
              signal,
            );
            // A stored chunk of lines is one message to a reader that asked for batches.
            return call.request.batched ? batches : oneLineEach(batches);
          },
          (b) => ({ attempt: b.attempt, line: b.first, text: b.texts[0]!, nextTexts: b.texts.slice(1) }),
        ),
      CreateSecret: unary(log, 'CreateSecret', async (req, call) => {
        const s = req.secret;
        const namespace = ns(s?.metadata?.namespace ?? '');
        auth.check(call, 'CreateSecret', namespace);
        const errors = [
          ...nameErrors(s?.metadata?.name, 'secret.metadata.name', 253),
          ...nameErrors(namespace, 'secret.metadata.namespace'),
        ];
        if (!SECRET_TYPES.includes(s?.type as SecretType))
          errors.push({
            field: 'secret.type',
            message: `must be one of ${SECRET_TYPES.join(', ')}, got "${s?.type ?? ''}"`,
          });
        if (s?.type === 'docker-registry' && !s.registry)
          errors.push({ field: 'secret.registry', message: 'is required for docker-registry' });
        if (s?.type === 'basic-auth' && s.registry)
          errors.push({ field: 'secret.registry', message: 'is only for docker-registry' });
        if (s?.type === 'webhook') {
          // One value (in password), which signs (GitHub, Bitbucket, Gitea), authenticates (GitLab) or is the URL's secret (Generic).
          if (!s.password)
            errors.push({
              field: 'secret.password',
              message: 'is required: the webhook secret, as given to the Git host (GitHub, GitLab, Bitbucket, Gitea)',
            });
          else if (s.password.length > MAX_WEBHOOK_SECRET_LENGTH)
            errors.push({
              field: 'secret.password',
              message: `must be at most ${MAX_WEBHOOK_SECRET_LENGTH} characters`,
            });
          for (const field of ['registry', 'username', 'sshPrivateKey', 'knownHosts'] as const) {
            if (s[field]) errors.push({ field: `secret.${field}`, message: 'is not used by a webhook secret' });
          }
        } else if (s?.type === 'opaque') {
          // One value (in password), any text: a build secret's, mounted into RUN steps.
          if (s.password.trim().length < MIN_OPAQUE_SECRET_LENGTH)
            errors.push({
              field: 'secret.password',
              message: `must be at least ${MIN_OPAQUE_SECRET_LENGTH} characters besides white space (the value; shorter ones cannot be masked in build logs)`,
            });
          else if (s.password.length > MAX_OPAQUE_SECRET_LENGTH)
            errors.push({
              field: 'secret.password',
              message: `must be at most ${MAX_OPAQUE_SECRET_LENGTH} characters`,
            });
          for (const field of ['registry', 'username', 'sshPrivateKey', 'knownHosts'] as const) {
            if (s[field]) errors.push({ field: `secret.${field}`, message: 'is not used by an opaque secret' });
          }
        } else if (s?.type === 'ssh-auth') {
          if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(s.sshPrivateKey))
            errors.push({ field: 'secret.sshPrivateKey', message: 'must be a private key in PEM or OpenSSH form' });
        } else {
          if (!s?.username) errors.push({ field: 'secret.username', message: 'is required' });
          if (!s?.password) errors.push({ field: 'secret.password', message: 'is required' });
        }
        if (errors.length > 0) throw new InvalidInputError(errors, 'Secret');
        const stored = await secrets.create({
          metadata: { name: s!.metadata!.name, namespace },
          type: s!.type as SecretType,
          registry: s!.registry,
          username: s!.username,
          password: s!.password,
          sshPrivateKey: s!.sshPrivateKey || undefined,
          knownHosts: s!.knownHosts || undefined,
        });
        return {
          metadata: { ...stored.value.metadata, resourceVersion: String(stored.revision) },
          type: stored.value.type,
          registry: stored.value.registry,
        };
      }),
      DeleteSecret: unary(log, 'DeleteSecret', async (req, call) => {
        auth.check(call, 'DeleteSecret', ns(req.namespace));
        const errors = [...nameErrors(req.name, 'name', 253), ...nameErrors(ns(req.namespace), 'namespace')];
        if (errors.length > 0) throw new InvalidInputError(errors, 'DeleteSecret request');
        await secrets.delete(ns(req.namespace), req.name);
        return {};
      }),
    };
  }

  /**
   * The first message names the build to start; the config is checked before the upload is
   * taken in. The upload is stored whole (or refused whole) before the build is created, and
   * removed again if the build then cannot be.
   */
  private async startWithContext(call: grpc.ServerReadableStream<StartBuildUpload__Output, unknown>): Promise<PBuild> {
    // Who is calling is known from the metadata: refuse before a byte of the upload is read.
    const user = this.auth.authenticate(call.metadata);
    const messages = call[Symbol.asyncIterator]() as AsyncIterator<StartBuildUpload__Output>;
    const first = await messages.next();
    if (!first.done) wellFormed(first.value);
    if (first.done || first.value.part !== 'start' || !first.value.start) {
      throw new InvalidInputError(
        [{ field: 'start', message: 'the first message must say which build to start' }],
        'upload',
      );
    }
    const start = first.value.start;
    const namespace = ns(start.namespace);
    this.auth.authorize(user, 'StartBuildWithContext', namespace);
    await this.api.getBuildConfig(namespace, start.configName);
    const chunks = (async function* () {
      for (let m = await messages.next(); !m.done; m = await messages.next()) {
        if (wellFormed(m.value).part !== 'chunk')
          throw new InvalidInputError([{ field: 'chunk', message: 'only the first message may be a start' }], 'upload');
        yield m.value.chunk!;
      }
    })();
    const binary = await this.contexts.put(chunks, `${namespace}/${start.configName}`);
    try {
      return buildToProto(
        await this.api.startBuild({
          namespace,
          configName: start.configName,
          ref: start.ref || undefined,
          image: start.image || undefined,
          binary,
        }),
      );
    } catch (err) {
      await this.contexts.delete(binary.object).catch(() => {});
      throw err;
    }
  }
}
