import type { CanonicalImage } from './image-reference.js';
import { bearerFrom, challengeAnswer, registryBaseUrl, type RegistryCredentials } from './registry-client.js';

/**
 * Calls of the Registry HTTP API V2 on one repository, answering the registry's 401 challenge
 * once (Basic with the credentials, or a Bearer token for `actions` from the challenge's realm,
 * asked with them or anonymously) and sending that answer with every later call. The
 * credentials go to the registry and its token realm only, and never into an error.
 */
export class RegistrySession {
  readonly base: string;
  private authorization: string | undefined;

  constructor(
    readonly image: Pick<CanonicalImage, 'registry' | 'repository'>,
    private readonly o: {
      credentials?: RegistryCredentials;
      actions: 'pull' | 'pull,push';
      insecureRegistries?: readonly string[];
      signal?: AbortSignal;
    },
  ) {
    this.base = registryBaseUrl(image.registry, o.insecureRegistries);
  }

  /** Whether the session has credentials (for messages: "with the push secret's credentials" or not). */
  get hasCredentials(): boolean {
    return this.o.credentials !== undefined;
  }

  /**
   * One call; `path` is under /v2/<repository>/ (or a URL the registry gave, e.g. an upload's
   * Location). @throws what fetch throws (unreachable, aborted)
   */
  async call(
    method: string,
    path: string,
    init: { body?: Blob; type?: string; accept?: string } = {},
  ): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? new URL(path) : new URL(`/v2/${this.image.repository}/${path}`, this.base);
    const send = () =>
      fetch(url, {
        method,
        body: init.body,
        headers: {
          ...(init.type ? { 'content-type': init.type } : {}),
          ...(init.accept ? { accept: init.accept } : {}),
          ...(this.authorization ? { authorization: this.authorization } : {}),
        },
        signal: this.o.signal,
      });
    let res = await send();
    if (res.status === 401 && !this.authorization) {
      this.authorization = await this.answer(res.headers.get('www-authenticate') ?? '');
      if (this.authorization) res = await send();
    }
    return res;
  }

  /** The Authorization a 401's challenge asks for; undefined when it cannot be answered. */
  private async answer(challenge: string): Promise<string | undefined> {
    let answer;
    try {
      answer = challengeAnswer(challenge, this.image.repository, this.o.actions, this.o.credentials);
    } catch {
      return undefined;
    }
    if (!answer || 'authorization' in answer) return answer?.authorization;
    const res = await fetch(answer.tokenUrl, {
      headers: answer.basic ? { authorization: answer.basic } : {},
      signal: this.o.signal,
    });
    return res.ok ? bearerFrom(res) : undefined;
  }
}
