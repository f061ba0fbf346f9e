// Original file: proto/slipway/v1/slipway.proto


/**
 * An attempt of a build that ended without ending the build: the build was given a new attempt.
 */
export interface PreviousAttempt {
  'attempt'?: (number);
  /**
   * AgentShutdown (its agent stopped before the build finished) or AgentLost.
   */
  'reason'?: (string);
  'message'?: (string);
  /**
   * The agent and node that held it.
   */
  'agent'?: (string);
  'node'?: (string);
  /**
   * When it was handed back or found lost.
   */
  'completionTimestamp'?: (string);
}

/**
 * An attempt of a build that ended without ending the build: the build was given a new attempt.
 */
export interface PreviousAttempt__Output {
  'attempt': (number);
  /**
   * AgentShutdown (its agent stopped before the build finished) or AgentLost.
   */
  'reason': (string);
  'message': (string);
  /**
   * The agent and node that held it.
   */
  'agent': (string);
  'node': (string);
  /**
   * When it was handed back or found lost.
   */
  'completionTimestamp': (string);
}
