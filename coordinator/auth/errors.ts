/** Authentication and authorization failures live with the other typed errors (common/errors.ts). */
export { PermissionDeniedError, UnauthenticatedError } from '../../common/errors.js';
