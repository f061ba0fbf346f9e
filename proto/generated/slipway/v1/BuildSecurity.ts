// Original file: proto/slipway/v1/slipway.proto


export interface BuildSecurity {
  /**
   * The build runs only on an agent whose builds run in a user namespace (isolation "userns":
   * root in a RUN step is an unprivileged uid on the node). With none, it waits
   * (NoMatchingAgent); an agent that gets it anyway fails it (UnprivilegedRequired).
   */
  'unprivileged'?: (boolean);
}

export interface BuildSecurity__Output {
  /**
   * The build runs only on an agent whose builds run in a user namespace (isolation "userns":
   * root in a RUN step is an unprivileged uid on the node). With none, it waits
   * (NoMatchingAgent); an agent that gets it anyway fails it (UnprivilegedRequired).
   */
  'unprivileged': (boolean);
}
