// Original file: proto/slipway/v1/slipway.proto

import type { BuildRef as _slipway_v1_BuildRef, BuildRef__Output as _slipway_v1_BuildRef__Output } from '../../slipway/v1/BuildRef';

export interface ClaimBuildRequest {
  'build'?: (_slipway_v1_BuildRef | null);
  'agent'?: (string);
  'node'?: (string);
  /**
   * Names this delivery of the job on this run of the agent. Repeating a claim with the same id
   * (its answer was lost) is accepted; any other claim of a claimed attempt is refused, so a job
   * delivered twice, or an agent restarted mid-build, never runs the attempt a second time.
   */
  'claimId'?: (string);
  /**
   * The labels of the agent's node as it sees them now. A build whose node_selector they do not
   * match is refused (FAILED_PRECONDITION, reason NodeSelectorMismatch).
   */
  'nodeLabels'?: ({[key: string]: string});
}

export interface ClaimBuildRequest__Output {
  'build': (_slipway_v1_BuildRef__Output | null);
  'agent': (string);
  'node': (string);
  /**
   * Names this delivery of the job on this run of the agent. Repeating a claim with the same id
   * (its answer was lost) is accepted; any other claim of a claimed attempt is refused, so a job
   * delivered twice, or an agent restarted mid-build, never runs the attempt a second time.
   */
  'claimId': (string);
  /**
   * The labels of the agent's node as it sees them now. A build whose node_selector they do not
   * match is refused (FAILED_PRECONDITION, reason NodeSelectorMismatch).
   */
  'nodeLabels': ({[key: string]: string});
}
