// Original file: proto/slipway/v1/slipway.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Build as _slipway_v1_Build, Build__Output as _slipway_v1_Build__Output } from '../../slipway/v1/Build';
import type { BuildConfig as _slipway_v1_BuildConfig, BuildConfig__Output as _slipway_v1_BuildConfig__Output } from '../../slipway/v1/BuildConfig';
import type { CreateBuildConfigRequest as _slipway_v1_CreateBuildConfigRequest, CreateBuildConfigRequest__Output as _slipway_v1_CreateBuildConfigRequest__Output } from '../../slipway/v1/CreateBuildConfigRequest';
import type { DeleteBuildConfigRequest as _slipway_v1_DeleteBuildConfigRequest, DeleteBuildConfigRequest__Output as _slipway_v1_DeleteBuildConfigRequest__Output } from '../../slipway/v1/DeleteBuildConfigRequest';
import type { DeleteBuildConfigResponse as _slipway_v1_DeleteBuildConfigResponse, DeleteBuildConfigResponse__Output as _slipway_v1_DeleteBuildConfigResponse__Output } from '../../slipway/v1/DeleteBuildConfigResponse';
import type { GetBuildConfigRequest as _slipway_v1_GetBuildConfigRequest, GetBuildConfigRequest__Output as _slipway_v1_GetBuildConfigRequest__Output } from '../../slipway/v1/GetBuildConfigRequest';
import type { GetBuildRequest as _slipway_v1_GetBuildRequest, GetBuildRequest__Output as _slipway_v1_GetBuildRequest__Output } from '../../slipway/v1/GetBuildRequest';
import type { ListBuildConfigsRequest as _slipway_v1_ListBuildConfigsRequest, ListBuildConfigsRequest__Output as _slipway_v1_ListBuildConfigsRequest__Output } from '../../slipway/v1/ListBuildConfigsRequest';
import type { ListBuildConfigsResponse as _slipway_v1_ListBuildConfigsResponse, ListBuildConfigsResponse__Output as _slipway_v1_ListBuildConfigsResponse__Output } from '../../slipway/v1/ListBuildConfigsResponse';
import type { ListBuildsRequest as _slipway_v1_ListBuildsRequest, ListBuildsRequest__Output as _slipway_v1_ListBuildsRequest__Output } from '../../slipway/v1/ListBuildsRequest';
import type { ListBuildsResponse as _slipway_v1_ListBuildsResponse, ListBuildsResponse__Output as _slipway_v1_ListBuildsResponse__Output } from '../../slipway/v1/ListBuildsResponse';
import type { StartBuildRequest as _slipway_v1_StartBuildRequest, StartBuildRequest__Output as _slipway_v1_StartBuildRequest__Output } from '../../slipway/v1/StartBuildRequest';
import type { UpdateBuildConfigRequest as _slipway_v1_UpdateBuildConfigRequest, UpdateBuildConfigRequest__Output as _slipway_v1_UpdateBuildConfigRequest__Output } from '../../slipway/v1/UpdateBuildConfigRequest';
import type { WatchBuildRequest as _slipway_v1_WatchBuildRequest, WatchBuildRequest__Output as _slipway_v1_WatchBuildRequest__Output } from '../../slipway/v1/WatchBuildRequest';

export interface BuildServiceClient extends grpc.Client {
  CreateBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  CreateBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  CreateBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  CreateBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  createBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  createBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  createBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  createBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  
  DeleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  DeleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  DeleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  DeleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  deleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  deleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  deleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  deleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  
  GetBuild(argument: _slipway_v1_GetBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  GetBuild(argument: _slipway_v1_GetBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  GetBuild(argument: _slipway_v1_GetBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  GetBuild(argument: _slipway_v1_GetBuildRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  getBuild(argument: _slipway_v1_GetBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  getBuild(argument: _slipway_v1_GetBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  getBuild(argument: _slipway_v1_GetBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  getBuild(argument: _slipway_v1_GetBuildRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  
  GetBuildConfig(argument: _slipway_v1_GetBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  GetBuildConfig(argument: _slipway_v1_GetBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  GetBuildConfig(argument: _slipway_v1_GetBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  GetBuildConfig(argument: _slipway_v1_GetBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  getBuildConfig(argument: _slipway_v1_GetBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  getBuildConfig(argument: _slipway_v1_GetBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  getBuildConfig(argument: _slipway_v1_GetBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  getBuildConfig(argument: _slipway_v1_GetBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  
  ListBuildConfigs(argument: _slipway_v1_ListBuildConfigsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ListBuildConfigsResponse__Output>): grpc.ClientUnaryCall;
  ListBuildConfigs(argument: _slipway_v1_ListBuildConfigsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_ListBuildConfigsResponse__Output>): grpc.ClientUnaryCall;
  ListBuildConfigs(argument: _slipway_v1_ListBuildConfigsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ListBuildConfigsResponse__Output>): grpc.ClientUnaryCall;
  ListBuildConfigs(argument: _slipway_v1_ListBuildConfigsRequest, callback: grpc.requestCallback<_slipway_v1_ListBuildConfigsResponse__Output>): grpc.ClientUnaryCall;
  listBuildConfigs(argument: _slipway_v1_ListBuildConfigsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ListBuildConfigsResponse__Output>): grpc.ClientUnaryCall;
  listBuildConfigs(argument: _slipway_v1_ListBuildConfigsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_ListBuildConfigsResponse__Output>): grpc.ClientUnaryCall;
  listBuildConfigs(argument: _slipway_v1_ListBuildConfigsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ListBuildConfigsResponse__Output>): grpc.ClientUnaryCall;
  listBuildConfigs(argument: _slipway_v1_ListBuildConfigsRequest, callback: grpc.requestCallback<_slipway_v1_ListBuildConfigsResponse__Output>): grpc.ClientUnaryCall;
  
  ListBuilds(argument: _slipway_v1_ListBuildsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ListBuildsResponse__Output>): grpc.ClientUnaryCall;
  ListBuilds(argument: _slipway_v1_ListBuildsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_ListBuildsResponse__Output>): grpc.ClientUnaryCall;
  ListBuilds(argument: _slipway_v1_ListBuildsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ListBuildsResponse__Output>): grpc.ClientUnaryCall;
  ListBuilds(argument: _slipway_v1_ListBuildsRequest, callback: grpc.requestCallback<_slipway_v1_ListBuildsResponse__Output>): grpc.ClientUnaryCall;
  listBuilds(argument: _slipway_v1_ListBuildsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ListBuildsResponse__Output>): grpc.ClientUnaryCall;
  listBuilds(argument: _slipway_v1_ListBuildsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_ListBuildsResponse__Output>): grpc.ClientUnaryCall;
  listBuilds(argument: _slipway_v1_ListBuildsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_ListBuildsResponse__Output>): grpc.ClientUnaryCall;
  listBuilds(argument: _slipway_v1_ListBuildsRequest, callback: grpc.requestCallback<_slipway_v1_ListBuildsResponse__Output>): grpc.ClientUnaryCall;
  
  StartBuild(argument: _slipway_v1_StartBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  StartBuild(argument: _slipway_v1_StartBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  StartBuild(argument: _slipway_v1_StartBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  StartBuild(argument: _slipway_v1_StartBuildRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  startBuild(argument: _slipway_v1_StartBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  startBuild(argument: _slipway_v1_StartBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  startBuild(argument: _slipway_v1_StartBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  startBuild(argument: _slipway_v1_StartBuildRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  
  UpdateBuildConfig(argument: _slipway_v1_UpdateBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  UpdateBuildConfig(argument: _slipway_v1_UpdateBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  UpdateBuildConfig(argument: _slipway_v1_UpdateBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  UpdateBuildConfig(argument: _slipway_v1_UpdateBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  updateBuildConfig(argument: _slipway_v1_UpdateBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  updateBuildConfig(argument: _slipway_v1_UpdateBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  updateBuildConfig(argument: _slipway_v1_UpdateBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  updateBuildConfig(argument: _slipway_v1_UpdateBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  
  /**
   * The build as it is now, then every change, ending after a terminal phase.
   */
  WatchBuild(argument: _slipway_v1_WatchBuildRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_slipway_v1_Build__Output>;
  WatchBuild(argument: _slipway_v1_WatchBuildRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_slipway_v1_Build__Output>;
  /**
   * The build as it is now, then every change, ending after a terminal phase.
   */
  watchBuild(argument: _slipway_v1_WatchBuildRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_slipway_v1_Build__Output>;
  watchBuild(argument: _slipway_v1_WatchBuildRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_slipway_v1_Build__Output>;
  
}

export interface BuildServiceHandlers extends grpc.UntypedServiceImplementation {
  CreateBuildConfig: grpc.handleUnaryCall<_slipway_v1_CreateBuildConfigRequest__Output, _slipway_v1_BuildConfig>;
  
  DeleteBuildConfig: grpc.handleUnaryCall<_slipway_v1_DeleteBuildConfigRequest__Output, _slipway_v1_DeleteBuildConfigResponse>;
  
  GetBuild: grpc.handleUnaryCall<_slipway_v1_GetBuildRequest__Output, _slipway_v1_Build>;
  
  GetBuildConfig: grpc.handleUnaryCall<_slipway_v1_GetBuildConfigRequest__Output, _slipway_v1_BuildConfig>;
  
  ListBuildConfigs: grpc.handleUnaryCall<_slipway_v1_ListBuildConfigsRequest__Output, _slipway_v1_ListBuildConfigsResponse>;
  
  ListBuilds: grpc.handleUnaryCall<_slipway_v1_ListBuildsRequest__Output, _slipway_v1_ListBuildsResponse>;
  
  StartBuild: grpc.handleUnaryCall<_slipway_v1_StartBuildRequest__Output, _slipway_v1_Build>;
  
  UpdateBuildConfig: grpc.handleUnaryCall<_slipway_v1_UpdateBuildConfigRequest__Output, _slipway_v1_BuildConfig>;
  
  /**
   * The build as it is now, then every change, ending after a terminal phase.
   */
  WatchBuild: grpc.handleServerStreamingCall<_slipway_v1_WatchBuildRequest__Output, _slipway_v1_Build>;
  
}

export interface BuildServiceDefinition extends grpc.ServiceDefinition {
  CreateBuildConfig: MethodDefinition<_slipway_v1_CreateBuildConfigRequest, _slipway_v1_BuildConfig, _slipway_v1_CreateBuildConfigRequest__Output, _slipway_v1_BuildConfig__Output>
  DeleteBuildConfig: MethodDefinition<_slipway_v1_DeleteBuildConfigRequest, _slipway_v1_DeleteBuildConfigResponse, _slipway_v1_DeleteBuildConfigRequest__Output, _slipway_v1_DeleteBuildConfigResponse__Output>
  GetBuild: MethodDefinition<_slipway_v1_GetBuildRequest, _slipway_v1_Build, _slipway_v1_GetBuildRequest__Output, _slipway_v1_Build__Output>
  GetBuildConfig: MethodDefinition<_slipway_v1_GetBuildConfigRequest, _slipway_v1_BuildConfig, _slipway_v1_GetBuildConfigRequest__Output, _slipway_v1_BuildConfig__Output>
  ListBuildConfigs: MethodDefinition<_slipway_v1_ListBuildConfigsRequest, _slipway_v1_ListBuildConfigsResponse, _slipway_v1_ListBuildConfigsRequest__Output, _slipway_v1_ListBuildConfigsResponse__Output>
  ListBuilds: MethodDefinition<_slipway_v1_ListBuildsRequest, _slipway_v1_ListBuildsResponse, _slipway_v1_ListBuildsRequest__Output, _slipway_v1_ListBuildsResponse__Output>
  StartBuild: MethodDefinition<_slipway_v1_StartBuildRequest, _slipway_v1_Build, _slipway_v1_StartBuildRequest__Output, _slipway_v1_Build__Output>
  UpdateBuildConfig: MethodDefinition<_slipway_v1_UpdateBuildConfigRequest, _slipway_v1_BuildConfig, _slipway_v1_UpdateBuildConfigRequest__Output, _slipway_v1_BuildConfig__Output>
  WatchBuild: MethodDefinition<_slipway_v1_WatchBuildRequest, _slipway_v1_Build, _slipway_v1_WatchBuildRequest__Output, _slipway_v1_Build__Output>
}
