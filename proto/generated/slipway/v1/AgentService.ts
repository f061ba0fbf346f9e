// Original file: proto/slipway/v1/slipway.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Build as _slipway_v1_Build, Build__Output as _slipway_v1_Build__Output } from '../../slipway/v1/Build';
import type { ClaimBuildRequest as _slipway_v1_ClaimBuildRequest, ClaimBuildRequest__Output as _slipway_v1_ClaimBuildRequest__Output } from '../../slipway/v1/ClaimBuildRequest';
import type { ClaimBuildResponse as _slipway_v1_ClaimBuildResponse, ClaimBuildResponse__Output as _slipway_v1_ClaimBuildResponse__Output } from '../../slipway/v1/ClaimBuildResponse';
import type { CompleteBuildRequest as _slipway_v1_CompleteBuildRequest, CompleteBuildRequest__Output as _slipway_v1_CompleteBuildRequest__Output } from '../../slipway/v1/CompleteBuildRequest';
import type { FailBuildRequest as _slipway_v1_FailBuildRequest, FailBuildRequest__Output as _slipway_v1_FailBuildRequest__Output } from '../../slipway/v1/FailBuildRequest';
import type { HeartbeatRequest as _slipway_v1_HeartbeatRequest, HeartbeatRequest__Output as _slipway_v1_HeartbeatRequest__Output } from '../../slipway/v1/HeartbeatRequest';
import type { HeartbeatResponse as _slipway_v1_HeartbeatResponse, HeartbeatResponse__Output as _slipway_v1_HeartbeatResponse__Output } from '../../slipway/v1/HeartbeatResponse';
import type { RecordSourceImagesRequest as _slipway_v1_RecordSourceImagesRequest, RecordSourceImagesRequest__Output as _slipway_v1_RecordSourceImagesRequest__Output } from '../../slipway/v1/RecordSourceImagesRequest';

export interface AgentServiceClient extends grpc.Client {
  /**
   * Takes ownership of a Pending build's attempt: the build becomes Running on this agent.
   * Refused (FAILED_PRECONDITION) when the attempt is stale, another agent owns it, or the
   * build's node_selector does not match the claim's node_labels.
   */
  ClaimBuild(argument: _slipway_v1_ClaimBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ClaimBuildResponse__Output>): grpc.ClientUnaryCall;
  ClaimBuild(argument: _slipway_v1_ClaimBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_ClaimBuildResponse__Output>): grpc.ClientUnaryCall;
  ClaimBuild(argument: _slipway_v1_ClaimBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ClaimBuildResponse__Output>): grpc.ClientUnaryCall;
  ClaimBuild(argument: _slipway_v1_ClaimBuildRequest, callback: grpc.requestCallback<_slipway_v1_ClaimBuildResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Takes ownership of a Pending build's attempt: the build becomes Running on this agent.
   * Refused (FAILED_PRECONDITION) when the attempt is stale, another agent owns it, or the
   * build's node_selector does not match the claim's node_labels.
   */
  claimBuild(argument: _slipway_v1_ClaimBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ClaimBuildResponse__Output>): grpc.ClientUnaryCall;
  claimBuild(argument: _slipway_v1_ClaimBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_ClaimBuildResponse__Output>): grpc.ClientUnaryCall;
  claimBuild(argument: _slipway_v1_ClaimBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ClaimBuildResponse__Output>): grpc.ClientUnaryCall;
  claimBuild(argument: _slipway_v1_ClaimBuildRequest, callback: grpc.requestCallback<_slipway_v1_ClaimBuildResponse__Output>): grpc.ClientUnaryCall;
  
  CompleteBuild(argument: _slipway_v1_CompleteBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  CompleteBuild(argument: _slipway_v1_CompleteBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  CompleteBuild(argument: _slipway_v1_CompleteBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  CompleteBuild(argument: _slipway_v1_CompleteBuildRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  completeBuild(argument: _slipway_v1_CompleteBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  completeBuild(argument: _slipway_v1_CompleteBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  completeBuild(argument: _slipway_v1_CompleteBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  completeBuild(argument: _slipway_v1_CompleteBuildRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  
  FailBuild(argument: _slipway_v1_FailBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  FailBuild(argument: _slipway_v1_FailBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  FailBuild(argument: _slipway_v1_FailBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  FailBuild(argument: _slipway_v1_FailBuildRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  failBuild(argument: _slipway_v1_FailBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  failBuild(argument: _slipway_v1_FailBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  failBuild(argument: _slipway_v1_FailBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  failBuild(argument: _slipway_v1_FailBuildRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  
  /**
   * Says the agent is alive and what it runs; answers what it must stop.
   */
  Heartbeat(argument: _slipway_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _slipway_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _slipway_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _slipway_v1_HeartbeatRequest, callback: grpc.requestCallback<_slipway_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Says the agent is alive and what it runs; answers what it must stop.
   */
  heartbeat(argument: _slipway_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _slipway_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _slipway_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _slipway_v1_HeartbeatRequest, callback: grpc.requestCallback<_slipway_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Records the digests of a Running attempt's source images, unless an earlier attempt did;
   * answers the build with the digests to use. Fenced by attempt and agent like the reports.
   */
  RecordSourceImages(argument: _slipway_v1_RecordSourceImagesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  RecordSourceImages(argument: _slipway_v1_RecordSourceImagesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  RecordSourceImages(argument: _slipway_v1_RecordSourceImagesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  RecordSourceImages(argument: _slipway_v1_RecordSourceImagesRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  /**
   * Records the digests of a Running attempt's source images, unless an earlier attempt did;
   * answers the build with the digests to use. Fenced by attempt and agent like the reports.
   */
  recordSourceImages(argument: _slipway_v1_RecordSourceImagesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  recordSourceImages(argument: _slipway_v1_RecordSourceImagesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  recordSourceImages(argument: _slipway_v1_RecordSourceImagesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  recordSourceImages(argument: _slipway_v1_RecordSourceImagesRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  
}

export interface AgentServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Takes ownership of a Pending build's attempt: the build becomes Running on this agent.
   * Refused (FAILED_PRECONDITION) when the attempt is stale, another agent owns it, or the
   * build's node_selector does not match the claim's node_labels.
   */
  ClaimBuild: grpc.handleUnaryCall<_slipway_v1_ClaimBuildRequest__Output, _slipway_v1_ClaimBuildResponse>;
  
  CompleteBuild: grpc.handleUnaryCall<_slipway_v1_CompleteBuildRequest__Output, _slipway_v1_Build>;
  
  FailBuild: grpc.handleUnaryCall<_slipway_v1_FailBuildRequest__Output, _slipway_v1_Build>;
  
  /**
   * Says the agent is alive and what it runs; answers what it must stop.
   */
  Heartbeat: grpc.handleUnaryCall<_slipway_v1_HeartbeatRequest__Output, _slipway_v1_HeartbeatResponse>;
  
  /**
   * Records the digests of a Running attempt's source images, unless an earlier attempt did;
   * answers the build with the digests to use. Fenced by attempt and agent like the reports.
   */
  RecordSourceImages: grpc.handleUnaryCall<_slipway_v1_RecordSourceImagesRequest__Output, _slipway_v1_Build>;
  
}

export interface AgentServiceDefinition extends grpc.ServiceDefinition {
  ClaimBuild: MethodDefinition<_slipway_v1_ClaimBuildRequest, _slipway_v1_ClaimBuildResponse, _slipway_v1_ClaimBuildRequest__Output, _slipway_v1_ClaimBuildResponse__Output>
  CompleteBuild: MethodDefinition<_slipway_v1_CompleteBuildRequest, _slipway_v1_Build, _slipway_v1_CompleteBuildRequest__Output, _slipway_v1_Build__Output>
  FailBuild: MethodDefinition<_slipway_v1_FailBuildRequest, _slipway_v1_Build, _slipway_v1_FailBuildRequest__Output, _slipway_v1_Build__Output>
  Heartbeat: MethodDefinition<_slipway_v1_HeartbeatRequest, _slipway_v1_HeartbeatResponse, _slipway_v1_HeartbeatRequest__Output, _slipway_v1_HeartbeatResponse__Output>
  RecordSourceImages: MethodDefinition<_slipway_v1_RecordSourceImagesRequest, _slipway_v1_Build, _slipway_v1_RecordSourceImagesRequest__Output, _slipway_v1_Build__Output>
}
