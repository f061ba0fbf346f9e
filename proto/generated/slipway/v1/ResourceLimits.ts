// Original file: proto/slipway/v1/slipway.proto


export interface ResourceLimits {
  /**
   * Kubernetes quantities, e.g. "500m" and "512Mi". Empty: no limit.
   */
  'cpu'?: (string);
  'memory'?: (string);
}

export interface ResourceLimits__Output {
  /**
   * Kubernetes quantities, e.g. "500m" and "512Mi". Empty: no limit.
   */
  'cpu': (string);
  'memory': (string);
}
