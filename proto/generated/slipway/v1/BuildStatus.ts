// Original file: proto/slipway/v1/slipway.proto

import type { ImageOutput as _slipway_v1_ImageOutput, ImageOutput__Output as _slipway_v1_ImageOutput__Output } from '../../slipway/v1/ImageOutput';
import type { BuildStage as _slipway_v1_BuildStage, BuildStage__Output as _slipway_v1_BuildStage__Output } from '../../slipway/v1/BuildStage';
import type { BuildEvent as _slipway_v1_BuildEvent, BuildEvent__Output as _slipway_v1_BuildEvent__Output } from '../../slipway/v1/BuildEvent';
import type { PreviousAttempt as _slipway_v1_PreviousAttempt, PreviousAttempt__Output as _slipway_v1_PreviousAttempt__Output } from '../../slipway/v1/PreviousAttempt';
import type { SourceImageDigest as _slipway_v1_SourceImageDigest, SourceImageDigest__Output as _slipway_v1_SourceImageDigest__Output } from '../../slipway/v1/SourceImageDigest';
import type { PlatformBuild as _slipway_v1_PlatformBuild, PlatformBuild__Output as _slipway_v1_PlatformBuild__Output } from '../../slipway/v1/PlatformBuild';
import type { Long } from '@grpc/proto-loader';

export interface BuildStatus {
  /**
   * New, Pending, Running, Complete, Failed, Error, Cancelled.
   */
  'phase'?: (string);
  /**
   * A CamelCase reason, stable across releases (e.g. BuildStepFailed, InvalidGitRef; Superseded
   * when Cancelled for a newer build; WaitingForPreviousBuild on a New build its run policy holds).
   */
  'reason'?: (string);
  'message'?: (string);
  'attempt'?: (number);
  'agent'?: (string);
  'node'?: (string);
  'queuedTimestamp'?: (string);
  'startTimestamp'?: (string);
  'completionTimestamp'?: (string);
  /**
   * Set when a build step or the build ended with an exit code; -1 when there is none.
   */
  'exitCode'?: (number);
  'output'?: (_slipway_v1_ImageOutput | null);
  /**
   * The source commit that was built.
   */
  'commit'?: (string);
  /**
   * A cancel was asked for while the build was running; its agent is stopping it.
   */
  'cancelRequested'?: (boolean);
  /**
   * Lines in the final attempt's log (known once the agent reported its outcome).
   */
  'logLines'?: (number | string | Long);
  /**
   * The final attempt's stages, as its agent timed them.
   */
  'stages'?: (_slipway_v1_BuildStage)[];
  /**
   * On failure: the last lines of the log, secrets masked.
   */
  'logSnippet'?: (string);
  /**
   * What happened to the build, oldest first (the newest 30 are kept).
   */
  'events'?: (_slipway_v1_BuildEvent)[];
  /**
   * While Pending: the agent the build's attempt is placed on, which has not claimed it yet.
   */
  'placedAgent'?: (string);
  /**
   * How the attempt before the current one ended, when it was handed back or lost with its
   * agent (AgentShutdown, AgentLost) and the build was given a new attempt; unset for a first
   * attempt. It stays while later attempts wait, run and end: `reason` says why the build waits
   * (e.g. NoMatchingAgent), this says what happened to the attempt before.
   */
  'previousAttempt'?: (_slipway_v1_PreviousAttempt | null);
  /**
   * The digests the build's source images (spec.config.source.images) were resolved to at the
   * start of its first attempt, in their order; every later attempt copies from these.
   */
  'sourceImages'?: (_slipway_v1_SourceImageDigest)[];
  /**
   * A build of several platforms (spec.config.output.platforms): each platform's build, as it
   * stands. `output` is then the image index pushed once all of them completed.
   */
  'platforms'?: (_slipway_v1_PlatformBuild)[];
}

export interface BuildStatus__Output {
  /**
   * New, Pending, Running, Complete, Failed, Error, Cancelled.
   */
  'phase': (string);
  /**
   * A CamelCase reason, stable across releases (e.g. BuildStepFailed, InvalidGitRef; Superseded
   * when Cancelled for a newer build; WaitingForPreviousBuild on a New build its run policy holds).
   */
  'reason': (string);
  'message': (string);
  'attempt': (number);
  'agent': (string);
  'node': (string);
  'queuedTimestamp': (string);
  'startTimestamp': (string);
  'completionTimestamp': (string);
  /**
   * Set when a build step or the build ended with an exit code; -1 when there is none.
   */
  'exitCode': (number);
  'output': (_slipway_v1_ImageOutput__Output | null);
  /**
   * The source commit that was built.
   */
  'commit': (string);
  /**
   * A cancel was asked for while the build was running; its agent is stopping it.
   */
  'cancelRequested': (boolean);
  /**
   * Lines in the final attempt's log (known once the agent reported its outcome).
   */
  'logLines': (number);
  /**
   * The final attempt's stages, as its agent timed them.
   */
  'stages': (_slipway_v1_BuildStage__Output)[];
  /**
   * On failure: the last lines of the log, secrets masked.
   */
  'logSnippet': (string);
  /**
   * What happened to the build, oldest first (the newest 30 are kept).
   */
  'events': (_slipway_v1_BuildEvent__Output)[];
  /**
   * While Pending: the agent the build's attempt is placed on, which has not claimed it yet.
   */
  'placedAgent': (string);
  /**
   * How the attempt before the current one ended, when it was handed back or lost with its
   * agent (AgentShutdown, AgentLost) and the build was given a new attempt; unset for a first
   * attempt. It stays while later attempts wait, run and end: `reason` says why the build waits
   * (e.g. NoMatchingAgent), this says what happened to the attempt before.
   */
  'previousAttempt': (_slipway_v1_PreviousAttempt__Output | null);
  /**
   * The digests the build's source images (spec.config.source.images) were resolved to at the
   * start of its first attempt, in their order; every later attempt copies from these.
   */
  'sourceImages': (_slipway_v1_SourceImageDigest__Output)[];
  /**
   * A build of several platforms (spec.config.output.platforms): each platform's build, as it
   * stands. `output` is then the image index pushed once all of them completed.
   */
  'platforms': (_slipway_v1_PlatformBuild__Output)[];
}
