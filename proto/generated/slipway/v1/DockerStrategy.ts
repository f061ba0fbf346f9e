// Original file: proto/slipway/v1/slipway.proto

import type { NameValue as _slipway_v1_NameValue, NameValue__Output as _slipway_v1_NameValue__Output } from '../../slipway/v1/NameValue';
import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from '../../slipway/v1/SecretReference';
import type { BuildSecret as _slipway_v1_BuildSecret, BuildSecret__Output as _slipway_v1_BuildSecret__Output } from '../../slipway/v1/BuildSecret';

export interface DockerStrategy {
  /**
   * Path of the Dockerfile, relative to the context. Empty: "Dockerfile".
   */
  'dockerfilePath'?: (string);
  'buildArgs'?: (_slipway_v1_NameValue)[];
  'noCache'?: (boolean);
  /**
   * Environment for the build's last stage, added as ENV after its FROM.
   */
  'env'?: (_slipway_v1_NameValue)[];
  /**
   * The stage to build, for multi-stage Dockerfiles. Empty: the last.
   */
  'target'?: (string);
  /**
   * Pull base images even when the daemon has them.
   */
  'forcePull'?: (boolean);
  /**
   * Replaces the image of the Dockerfile's last FROM.
   */
  'from'?: (string);
  /**
   * A docker-registry secret for pulling the base images.
   */
  'pullSecret'?: (_slipway_v1_SecretReference | null);
  /**
   * BuildKit build secrets: what `RUN --mount=type=secret,id=ID` reads, each an opaque secret.
   */
  'secrets'?: (_slipway_v1_BuildSecret)[];
}

export interface DockerStrategy__Output {
  /**
   * Path of the Dockerfile, relative to the context. Empty: "Dockerfile".
   */
  'dockerfilePath': (string);
  'buildArgs': (_slipway_v1_NameValue__Output)[];
  'noCache': (boolean);
  /**
   * Environment for the build's last stage, added as ENV after its FROM.
   */
  'env': (_slipway_v1_NameValue__Output)[];
  /**
   * The stage to build, for multi-stage Dockerfiles. Empty: the last.
   */
  'target': (string);
  /**
   * Pull base images even when the daemon has them.
   */
  'forcePull': (boolean);
  /**
   * Replaces the image of the Dockerfile's last FROM.
   */
  'from': (string);
  /**
   * A docker-registry secret for pulling the base images.
   */
  'pullSecret': (_slipway_v1_SecretReference__Output | null);
  /**
   * BuildKit build secrets: what `RUN --mount=type=secret,id=ID` reads, each an opaque secret.
   */
  'secrets': (_slipway_v1_BuildSecret__Output)[];
}
