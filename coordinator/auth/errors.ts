import { SlipwayError } from '../../common/errors.js';

/**
 * The request carries no credentials this server trusts (401). The message says which kinds
 * were tried, never what was sent: a wrong token must not end up in a log or a response.
 */
export class UnauthenticatedError extends SlipwayError {
  readonly reason = 'Unauthorized';
}
