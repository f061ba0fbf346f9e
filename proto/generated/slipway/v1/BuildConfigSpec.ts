// Original file: proto/slipway/v1/slipway.proto

import type { BuildSource as _slipway_v1_BuildSource, BuildSource__Output as _slipway_v1_BuildSource__Output } from '../../slipway/v1/BuildSource';
import type { BuildStrategy as _slipway_v1_BuildStrategy, BuildStrategy__Output as _slipway_v1_BuildStrategy__Output } from '../../slipway/v1/BuildStrategy';
import type { BuildOutput as _slipway_v1_BuildOutput, BuildOutput__Output as _slipway_v1_BuildOutput__Output } from '../../slipway/v1/BuildOutput';
import type { ResourceLimits as _slipway_v1_ResourceLimits, ResourceLimits__Output as _slipway_v1_ResourceLimits__Output } from '../../slipway/v1/ResourceLimits';
import type { BuildTrigger as _slipway_v1_BuildTrigger, BuildTrigger__Output as _slipway_v1_BuildTrigger__Output } from '../../slipway/v1/BuildTrigger';
import type { BuildSecurity as _slipway_v1_BuildSecurity, BuildSecurity__Output as _slipway_v1_BuildSecurity__Output } from '../../slipway/v1/BuildSecurity';
import type { Long } from '@grpc/proto-loader';

export interface BuildConfigSpec {
  'source'?: (_slipway_v1_BuildSource | null);
  'strategy'?: (_slipway_v1_BuildStrategy | null);
  'output'?: (_slipway_v1_BuildOutput | null);
  'resources'?: (_slipway_v1_ResourceLimits | null);
  /**
   * 0: no deadline.
   */
  'completionDeadlineSeconds'?: (number | string | Long);
  /**
   * New attempts allowed when an attempt is lost with its agent (AgentLost, AgentShutdown).
   */
  'retries'?: (number);
  /**
   * Only an agent whose node has all of these labels (Kubernetes label keys and values) runs the
   * build. Empty: any agent.
   */
  'nodeSelector'?: ({[key: string]: string});
  /**
   * What starts builds besides StartBuild.
   */
  'triggers'?: (_slipway_v1_BuildTrigger)[];
  /**
   * Parallel (empty: the default), Serial, SerialLatestOnly.
   */
  'runPolicy'?: (string);
  /**
   * Finished builds kept, with their logs, the oldest pruned first. Not set: all.
   */
  'successfulBuildsHistoryLimit'?: (number);
  /**
   * Failed, Error and Cancelled builds.
   */
  'failedBuildsHistoryLimit'?: (number);
  /**
   * A build not placed on an agent this many seconds after it was queued fails with the reason it
   * waited for (NoMatchingAgent, WaitingForCapacity, MissingPushSecret, AgentDraining). 0: waits.
   */
  'pendingDeadlineSeconds'?: (number | string | Long);
  /**
   * How much of the node the build's RUN steps may be.
   */
  'security'?: (_slipway_v1_BuildSecurity | null);
  '_successfulBuildsHistoryLimit'?: "successfulBuildsHistoryLimit";
  '_failedBuildsHistoryLimit'?: "failedBuildsHistoryLimit";
}

export interface BuildConfigSpec__Output {
  'source': (_slipway_v1_BuildSource__Output | null);
  'strategy': (_slipway_v1_BuildStrategy__Output | null);
  'output': (_slipway_v1_BuildOutput__Output | null);
  'resources': (_slipway_v1_ResourceLimits__Output | null);
  /**
   * 0: no deadline.
   */
  'completionDeadlineSeconds': (number);
  /**
   * New attempts allowed when an attempt is lost with its agent (AgentLost, AgentShutdown).
   */
  'retries': (number);
  /**
   * Only an agent whose node has all of these labels (Kubernetes label keys and values) runs the
   * build. Empty: any agent.
   */
  'nodeSelector': ({[key: string]: string});
  /**
   * What starts builds besides StartBuild.
   */
  'triggers': (_slipway_v1_BuildTrigger__Output)[];
  /**
   * Parallel (empty: the default), Serial, SerialLatestOnly.
   */
  'runPolicy': (string);
  /**
   * Finished builds kept, with their logs, the oldest pruned first. Not set: all.
   */
  'successfulBuildsHistoryLimit'?: (number);
  /**
   * Failed, Error and Cancelled builds.
   */
  'failedBuildsHistoryLimit'?: (number);
  /**
   * A build not placed on an agent this many seconds after it was queued fails with the reason it
   * waited for (NoMatchingAgent, WaitingForCapacity, MissingPushSecret, AgentDraining). 0: waits.
   */
  'pendingDeadlineSeconds': (number);
  /**
   * How much of the node the build's RUN steps may be.
   */
  'security': (_slipway_v1_BuildSecurity__Output | null);
  '_successfulBuildsHistoryLimit'?: "successfulBuildsHistoryLimit";
  '_failedBuildsHistoryLimit'?: "failedBuildsHistoryLimit";
}
