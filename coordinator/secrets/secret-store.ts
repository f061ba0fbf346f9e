import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InvalidInputError, NotFoundError, SlipwayError } from '../../common/errors.js';
import { objectKey } from '../../common/nats/names.js';
import type { ObjectMeta, Versioned } from '../../api/types.js';
import type { JsonStore } from '../store/json-store.js';

export type SecretType = 'docker-registry' | 'basic-auth' | 'ssh-auth' | 'webhook' | 'opaque';
export const SECRET_TYPES: readonly SecretType[] = ['docker-registry', 'basic-auth', 'ssh-auth', 'webhook', 'opaque'];
/** Longest opaque secret value accepted (BuildKit's own limit on a build secret is 500 KiB). */
export const MAX_OPAQUE_SECRET_LENGTH = 64 * 1024;
/**
 * Shortest opaque secret value accepted: the agent masks no shorter value in logs (it would
 * mangle every line; agent/logs/secret-masker.ts), and a build secret must always be masked.
 */
export const MIN_OPAQUE_SECRET_LENGTH = 3;
/** Longest webhook secret accepted (GitHub's own limit is far below; a generic webhook's secret is a URL segment). */
export const MAX_WEBHOOK_SECRET_LENGTH = 1024;

/**
 * A credential as users give it: for a registry (docker-registry), a git server (basic-auth,
 * ssh-auth), the value that signs or authenticates webhook deliveries (webhook, in `password`;
 * it is never handed to a build), or a build secret's value (opaque, in `password`; handed to a
 * build only as a build secret, never as registry or git credentials).
 */
export interface RegistrySecret {
  metadata: Pick<ObjectMeta, 'name' | 'namespace'>;
  type: SecretType;
  /** The registry host, for docker-registry; empty otherwise. */
  registry: string;
  username: string;
  password: string;
  /** For ssh-auth: the private key (PEM) and, optionally, known_hosts lines for the server. */
  sshPrivateKey?: string;
  knownHosts?: string;
}

/** What is stored: type and registry in the clear, the credentials sealed with AES-256-GCM. */
export interface StoredSecret {
  metadata: ObjectMeta;
  type: SecretType;
  registry: string;
  sealed: { iv: string; tag: string; data: string };
}

export class SecretNotFoundError extends NotFoundError {
  override readonly reason = 'SecretNotFound';
  constructor(key: string) {
    super('Secret', key);
  }
}

/** The coordinator has no key to seal secrets with. */
export class SecretsDisabledError extends SlipwayError {
  readonly reason = 'SecretsDisabled';
}

/**
 * Secrets, encrypted at rest with a key the coordinators share (SLIPWAY_SECRET_KEY).
 * Nothing here logs or returns a password except `reveal`, which the claim of a build that
 * names the secret uses to hand it to the agent that runs it.
 */
export class SecretStore {
  constructor(
    private readonly store: JsonStore<StoredSecret>,
    private readonly key: Buffer | undefined,
    private readonly clock: () => Date,
    private readonly newUid: () => string,
  ) {
    if (key && key.length !== 32)
      throw new InvalidInputError([{ field: 'SLIPWAY_SECRET_KEY', message: 'must be 32 bytes, base64' }]);
  }

  async create(s: RegistrySecret): Promise<Versioned<StoredSecret>> {
    const key = this.requireKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = {
      username: s.username,
      password: s.password,
      sshPrivateKey: s.sshPrivateKey,
      knownHosts: s.knownHosts,
    };
    const data = Buffer.concat([cipher.update(JSON.stringify(sealed)), cipher.final()]);
    const stored: StoredSecret = {
      metadata: { ...s.metadata, uid: this.newUid(), creationTimestamp: this.clock().toISOString(), generation: 1 },
      type: s.type,
      registry: s.registry,
      sealed: { iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') },
    };
    const revision = await this.store.create(objectKey(s.metadata.namespace, s.metadata.name), stored);
    return { value: stored, revision };
  }

  async delete(namespace: string, name: string): Promise<void> {
    const found = await this.store.get(objectKey(namespace, name));
    if (!found) throw new SecretNotFoundError(`${namespace}/${name}`);
    await this.store.delete(objectKey(namespace, name), found.revision);
  }

  /** Whether a credential a build can use (not a webhook or opaque secret) is there by that name; nothing is unsealed. */
  async exists(namespace: string, name: string): Promise<boolean> {
    const found = await this.store.get(objectKey(namespace, name));
    return found !== undefined && isCredential(found.value.type);
  }

  /**
   * The secret with its credentials, for a build's claim (its push, pull or source secret), or
   * undefined when there is none by that name. A webhook secret counts as none: it authenticates
   * deliveries to the coordinator, and a build (whose config may name any secret of its
   * namespace) has no use for it. An opaque secret counts as none too: its value is for the
   * build's RUN steps (revealBuildSecret), never to be sent to a registry or a git server.
   */
  async reveal(namespace: string, name: string): Promise<RegistrySecret | undefined> {
    const found = await this.store.get(objectKey(namespace, name));
    if (!found || !isCredential(found.value.type)) return undefined;
    return this.unseal(found.value);
  }

  /**
   * An opaque secret's value, for a build secret at a build's claim: `{ value }`; `{ wrongType }`
   * (and nothing unsealed) when the secret is of another type; undefined when there is none by
   * that name. The caller must not log it.
   */
  async revealBuildSecret(
    namespace: string,
    name: string,
  ): Promise<{ value: Buffer } | { wrongType: SecretType } | undefined> {
    const found = await this.store.get(objectKey(namespace, name));
    if (!found) return undefined;
    if (found.value.type !== 'opaque') return { wrongType: found.value.type };
    return { value: Buffer.from(this.unseal(found.value).password, 'utf8') };
  }

  /**
   * A webhook secret's value, for checking a delivery's signature or token; undefined when there
   * is no secret by that name or it is not of type webhook. The caller must not log or answer it.
   */
  async revealWebhookSecret(namespace: string, name: string): Promise<Buffer | undefined> {
    const found = await this.store.get(objectKey(namespace, name));
    if (!found || found.value.type !== 'webhook') return undefined;
    return Buffer.from(this.unseal(found.value).password, 'utf8');
  }

  private unseal(s: StoredSecret): RegistrySecret {
    const decipher = createDecipheriv('aes-256-gcm', this.requireKey(), Buffer.from(s.sealed.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(s.sealed.tag, 'base64'));
    const plain = Buffer.concat([decipher.update(Buffer.from(s.sealed.data, 'base64')), decipher.final()]).toString();
    const { username, password, sshPrivateKey, knownHosts } = JSON.parse(plain) as Pick<
      RegistrySecret,
      'username' | 'password' | 'sshPrivateKey' | 'knownHosts'
    >;
    return {
      metadata: { name: s.metadata.name, namespace: s.metadata.namespace },
      type: s.type,
      registry: s.registry,
      username,
      password,
      sshPrivateKey,
      knownHosts,
    };
  }

  private requireKey(): Buffer {
    if (!this.key) throw new SecretsDisabledError('secrets are disabled: the coordinator has no SLIPWAY_SECRET_KEY');
    return this.key;
  }
}

/** Types whose contents go to a registry or a git server on a build's behalf. */
function isCredential(type: SecretType): boolean {
  return type !== 'webhook' && type !== 'opaque';
}
