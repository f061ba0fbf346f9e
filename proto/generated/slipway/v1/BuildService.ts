// Original file: proto/slipway/v1/slipway.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Build as _slipway_v1_Build, Build__Output as _slipway_v1_Build__Output } from '../../slipway/v1/Build';
import type { BuildConfig as _slipway_v1_BuildConfig, BuildConfig__Output as _slipway_v1_BuildConfig__Output } from '../../slipway/v1/BuildConfig';
import type { CancelBuildRequest as _slipway_v1_CancelBuildRequest, CancelBuildRequest__Output as _slipway_v1_CancelBuildRequest__Output } from '../../slipway/v1/CancelBuildRequest';
import type { CreateBuildConfigRequest as _slipway_v1_CreateBuildConfigRequest, CreateBuildConfigRequest__Output as _slipway_v1_CreateBuildConfigRequest__Output } from '../../slipway/v1/CreateBuildConfigRequest';
import type { CreateSecretRequest as _slipway_v1_CreateSecretRequest, CreateSecretRequest__Output as _slipway_v1_CreateSecretRequest__Output } from '../../slipway/v1/CreateSecretRequest';
import type { DeleteBuildConfigRequest as _slipway_v1_DeleteBuildConfigRequest, DeleteBuildConfigRequest__Output as _slipway_v1_DeleteBuildConfigRequest__Output } from '../../slipway/v1/DeleteBuildConfigRequest';
import type { DeleteBuildConfigResponse as _slipway_v1_DeleteBuildConfigResponse, DeleteBuildConfigResponse__Output as _slipway_v1_DeleteBuildConfigResponse__Output } from '../../slipway/v1/DeleteBuildConfigResponse';
import type { DeleteSecretRequest as _slipway_v1_DeleteSecretRequest, DeleteSecretRequest__Output as _slipway_v1_DeleteSecretRequest__Output } from '../../slipway/v1/DeleteSecretRequest';
import type { DeleteSecretResponse as _slipway_v1_DeleteSecretResponse, DeleteSecretResponse__Output as _slipway_v1_DeleteSecretResponse__Output } from '../../slipway/v1/DeleteSecretResponse';
import type { GetBuildConfigRequest as _slipway_v1_GetBuildConfigRequest, GetBuildConfigRequest__Output as _slipway_v1_GetBuildConfigRequest__Output } from '../../slipway/v1/GetBuildConfigRequest';
import type { GetBuildRequest as _slipway_v1_GetBuildRequest, GetBuildRequest__Output as _slipway_v1_GetBuildRequest__Output } from '../../slipway/v1/GetBuildRequest';
import type { ListBuildConfigsRequest as _slipway_v1_ListBuildConfigsRequest, ListBuildConfigsRequest__Output as _slipway_v1_ListBuildConfigsRequest__Output } from '../../slipway/v1/ListBuildConfigsRequest';
import type { ListBuildConfigsResponse as _slipway_v1_ListBuildConfigsResponse, ListBuildConfigsResponse__Output as _slipway_v1_ListBuildConfigsResponse__Output } from '../../slipway/v1/ListBuildConfigsResponse';
import type { ListBuildsRequest as _slipway_v1_ListBuildsRequest, ListBuildsRequest__Output as _slipway_v1_ListBuildsRequest__Output } from '../../slipway/v1/ListBuildsRequest';
import type { ListBuildsResponse as _slipway_v1_ListBuildsResponse, ListBuildsResponse__Output as _slipway_v1_ListBuildsResponse__Output } from '../../slipway/v1/ListBuildsResponse';
import type { LogLine as _slipway_v1_LogLine, LogLine__Output as _slipway_v1_LogLine__Output } from '../../slipway/v1/LogLine';
import type { Secret as _slipway_v1_Secret, Secret__Output as _slipway_v1_Secret__Output } from '../../slipway/v1/Secret';
import type { StartBuildRequest as _slipway_v1_StartBuildRequest, StartBuildRequest__Output as _slipway_v1_StartBuildRequest__Output } from '../../slipway/v1/StartBuildRequest';
import type { StartBuildUpload as _slipway_v1_StartBuildUpload, StartBuildUpload__Output as _slipway_v1_StartBuildUpload__Output } from '../../slipway/v1/StartBuildUpload';
import type { StreamBuildLogsRequest as _slipway_v1_StreamBuildLogsRequest, StreamBuildLogsRequest__Output as _slipway_v1_StreamBuildLogsRequest__Output } from '../../slipway/v1/StreamBuildLogsRequest';
import type { UpdateBuildConfigRequest as _slipway_v1_UpdateBuildConfigRequest, UpdateBuildConfigRequest__Output as _slipway_v1_UpdateBuildConfigRequest__Output } from '../../slipway/v1/UpdateBuildConfigRequest';
import type { WatchBuildRequest as _slipway_v1_WatchBuildRequest, WatchBuildRequest__Output as _slipway_v1_WatchBuildRequest__Output } from '../../slipway/v1/WatchBuildRequest';

export interface BuildServiceClient extends grpc.Client {
  /**
   * New or Pending: the build never runs. Running: its agent stops it; it ends Cancelled.
   */
  CancelBuild(argument: _slipway_v1_CancelBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  CancelBuild(argument: _slipway_v1_CancelBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  CancelBuild(argument: _slipway_v1_CancelBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  CancelBuild(argument: _slipway_v1_CancelBuildRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  /**
   * New or Pending: the build never runs. Running: its agent stops it; it ends Cancelled.
   */
  cancelBuild(argument: _slipway_v1_CancelBuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  cancelBuild(argument: _slipway_v1_CancelBuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  cancelBuild(argument: _slipway_v1_CancelBuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  cancelBuild(argument: _slipway_v1_CancelBuildRequest, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientUnaryCall;
  
  CreateBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  CreateBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  CreateBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  CreateBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  createBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  createBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  createBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  createBuildConfig(argument: _slipway_v1_CreateBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_BuildConfig__Output>): grpc.ClientUnaryCall;
  
  /**
   * Returns the secret without its password.
   */
  CreateSecret(argument: _slipway_v1_CreateSecretRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Secret__Output>): grpc.ClientUnaryCall;
  CreateSecret(argument: _slipway_v1_CreateSecretRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Secret__Output>): grpc.ClientUnaryCall;
  CreateSecret(argument: _slipway_v1_CreateSecretRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Secret__Output>): grpc.ClientUnaryCall;
  CreateSecret(argument: _slipway_v1_CreateSecretRequest, callback: grpc.requestCallback<_slipway_v1_Secret__Output>): grpc.ClientUnaryCall;
  /**
   * Returns the secret without its password.
   */
  createSecret(argument: _slipway_v1_CreateSecretRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Secret__Output>): grpc.ClientUnaryCall;
  createSecret(argument: _slipway_v1_CreateSecretRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Secret__Output>): grpc.ClientUnaryCall;
  createSecret(argument: _slipway_v1_CreateSecretRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Secret__Output>): grpc.ClientUnaryCall;
  createSecret(argument: _slipway_v1_CreateSecretRequest, callback: grpc.requestCallback<_slipway_v1_Secret__Output>): grpc.ClientUnaryCall;
  
  DeleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  DeleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  DeleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  DeleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  deleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  deleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  deleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  deleteBuildConfig(argument: _slipway_v1_DeleteBuildConfigRequest, callback: grpc.requestCallback<_slipway_v1_DeleteBuildConfigResponse__Output>): grpc.ClientUnaryCall;
  
  DeleteSecret(argument: _slipway_v1_DeleteSecretRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteSecretResponse__Output>): grpc.ClientUnaryCall;
  DeleteSecret(argument: _slipway_v1_DeleteSecretRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_DeleteSecretResponse__Output>): grpc.ClientUnaryCall;
  DeleteSecret(argument: _slipway_v1_DeleteSecretRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteSecretResponse__Output>): grpc.ClientUnaryCall;
  DeleteSecret(argument: _slipway_v1_DeleteSecretRequest, callback: grpc.requestCallback<_slipway_v1_DeleteSecretResponse__Output>): grpc.ClientUnaryCall;
  deleteSecret(argument: _slipway_v1_DeleteSecretRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteSecretResponse__Output>): grpc.ClientUnaryCall;
  deleteSecret(argument: _slipway_v1_DeleteSecretRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_DeleteSecretResponse__Output>): grpc.ClientUnaryCall;
  deleteSecret(argument: _slipway_v1_DeleteSecretRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_DeleteSecretResponse__Output>): grpc.ClientUnaryCall;
  deleteSecret(argument: _slipway_v1_DeleteSecretRequest, callback: grpc.requestCallback<_slipway_v1_DeleteSecretResponse__Output>): grpc.ClientUnaryCall;
  
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
  
  /**
   * StartBuild with an uploaded build context (`slipway start --from-dir` / `--from-archive`).
   * Nothing is started unless the whole context arrived within the size limit.
   */
  StartBuildWithContext(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientWritableStream<_slipway_v1_StartBuildUpload>;
  StartBuildWithContext(metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientWritableStream<_slipway_v1_StartBuildUpload>;
  StartBuildWithContext(options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientWritableStream<_slipway_v1_StartBuildUpload>;
  StartBuildWithContext(callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientWritableStream<_slipway_v1_StartBuildUpload>;
  /**
   * StartBuild with an uploaded build context (`slipway start --from-dir` / `--from-archive`).
   * Nothing is started unless the whole context arrived within the size limit.
   */
  startBuildWithContext(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientWritableStream<_slipway_v1_StartBuildUpload>;
  startBuildWithContext(metadata: grpc.Metadata, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientWritableStream<_slipway_v1_StartBuildUpload>;
  startBuildWithContext(options: grpc.CallOptions, callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientWritableStream<_slipway_v1_StartBuildUpload>;
  startBuildWithContext(callback: grpc.requestCallback<_slipway_v1_Build__Output>): grpc.ClientWritableStream<_slipway_v1_StartBuildUpload>;
  
  /**
   * The build's log, from a line on; with follow, new lines as they come, until the log ends.
   */
  StreamBuildLogs(argument: _slipway_v1_StreamBuildLogsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_slipway_v1_LogLine__Output>;
  StreamBuildLogs(argument: _slipway_v1_StreamBuildLogsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_slipway_v1_LogLine__Output>;
  /**
   * The build's log, from a line on; with follow, new lines as they come, until the log ends.
   */
  streamBuildLogs(argument: _slipway_v1_StreamBuildLogsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_slipway_v1_LogLine__Output>;
  streamBuildLogs(argument: _slipway_v1_StreamBuildLogsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_slipway_v1_LogLine__Output>;
  
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
  /**
   * New or Pending: the build never runs. Running: its agent stops it; it ends Cancelled.
   */
  CancelBuild: grpc.handleUnaryCall<_slipway_v1_CancelBuildRequest__Output, _slipway_v1_Build>;
  
  CreateBuildConfig: grpc.handleUnaryCall<_slipway_v1_CreateBuildConfigRequest__Output, _slipway_v1_BuildConfig>;
  
  /**
   * Returns the secret without its password.
   */
  CreateSecret: grpc.handleUnaryCall<_slipway_v1_CreateSecretRequest__Output, _slipway_v1_Secret>;
  
  DeleteBuildConfig: grpc.handleUnaryCall<_slipway_v1_DeleteBuildConfigRequest__Output, _slipway_v1_DeleteBuildConfigResponse>;
  
  DeleteSecret: grpc.handleUnaryCall<_slipway_v1_DeleteSecretRequest__Output, _slipway_v1_DeleteSecretResponse>;
  
  GetBuild: grpc.handleUnaryCall<_slipway_v1_GetBuildRequest__Output, _slipway_v1_Build>;
  
  GetBuildConfig: grpc.handleUnaryCall<_slipway_v1_GetBuildConfigRequest__Output, _slipway_v1_BuildConfig>;
  
  ListBuildConfigs: grpc.handleUnaryCall<_slipway_v1_ListBuildConfigsRequest__Output, _slipway_v1_ListBuildConfigsResponse>;
  
  ListBuilds: grpc.handleUnaryCall<_slipway_v1_ListBuildsRequest__Output, _slipway_v1_ListBuildsResponse>;
  
  StartBuild: grpc.handleUnaryCall<_slipway_v1_StartBuildRequest__Output, _slipway_v1_Build>;
  
  /**
   * StartBuild with an uploaded build context (`slipway start --from-dir` / `--from-archive`).
   * Nothing is started unless the whole context arrived within the size limit.
   */
  StartBuildWithContext: grpc.handleClientStreamingCall<_slipway_v1_StartBuildUpload__Output, _slipway_v1_Build>;
  
  /**
   * The build's log, from a line on; with follow, new lines as they come, until the log ends.
   */
  StreamBuildLogs: grpc.handleServerStreamingCall<_slipway_v1_StreamBuildLogsRequest__Output, _slipway_v1_LogLine>;
  
  UpdateBuildConfig: grpc.handleUnaryCall<_slipway_v1_UpdateBuildConfigRequest__Output, _slipway_v1_BuildConfig>;
  
  /**
   * The build as it is now, then every change, ending after a terminal phase.
   */
  WatchBuild: grpc.handleServerStreamingCall<_slipway_v1_WatchBuildRequest__Output, _slipway_v1_Build>;
  
}

export interface BuildServiceDefinition extends grpc.ServiceDefinition {
  CancelBuild: MethodDefinition<_slipway_v1_CancelBuildRequest, _slipway_v1_Build, _slipway_v1_CancelBuildRequest__Output, _slipway_v1_Build__Output>
  CreateBuildConfig: MethodDefinition<_slipway_v1_CreateBuildConfigRequest, _slipway_v1_BuildConfig, _slipway_v1_CreateBuildConfigRequest__Output, _slipway_v1_BuildConfig__Output>
  CreateSecret: MethodDefinition<_slipway_v1_CreateSecretRequest, _slipway_v1_Secret, _slipway_v1_CreateSecretRequest__Output, _slipway_v1_Secret__Output>
  DeleteBuildConfig: MethodDefinition<_slipway_v1_DeleteBuildConfigRequest, _slipway_v1_DeleteBuildConfigResponse, _slipway_v1_DeleteBuildConfigRequest__Output, _slipway_v1_DeleteBuildConfigResponse__Output>
  DeleteSecret: MethodDefinition<_slipway_v1_DeleteSecretRequest, _slipway_v1_DeleteSecretResponse, _slipway_v1_DeleteSecretRequest__Output, _slipway_v1_DeleteSecretResponse__Output>
  GetBuild: MethodDefinition<_slipway_v1_GetBuildRequest, _slipway_v1_Build, _slipway_v1_GetBuildRequest__Output, _slipway_v1_Build__Output>
  GetBuildConfig: MethodDefinition<_slipway_v1_GetBuildConfigRequest, _slipway_v1_BuildConfig, _slipway_v1_GetBuildConfigRequest__Output, _slipway_v1_BuildConfig__Output>
  ListBuildConfigs: MethodDefinition<_slipway_v1_ListBuildConfigsRequest, _slipway_v1_ListBuildConfigsResponse, _slipway_v1_ListBuildConfigsRequest__Output, _slipway_v1_ListBuildConfigsResponse__Output>
  ListBuilds: MethodDefinition<_slipway_v1_ListBuildsRequest, _slipway_v1_ListBuildsResponse, _slipway_v1_ListBuildsRequest__Output, _slipway_v1_ListBuildsResponse__Output>
  StartBuild: MethodDefinition<_slipway_v1_StartBuildRequest, _slipway_v1_Build, _slipway_v1_StartBuildRequest__Output, _slipway_v1_Build__Output>
  StartBuildWithContext: MethodDefinition<_slipway_v1_StartBuildUpload, _slipway_v1_Build, _slipway_v1_StartBuildUpload__Output, _slipway_v1_Build__Output>
  StreamBuildLogs: MethodDefinition<_slipway_v1_StreamBuildLogsRequest, _slipway_v1_LogLine, _slipway_v1_StreamBuildLogsRequest__Output, _slipway_v1_LogLine__Output>
  UpdateBuildConfig: MethodDefinition<_slipway_v1_UpdateBuildConfigRequest, _slipway_v1_BuildConfig, _slipway_v1_UpdateBuildConfigRequest__Output, _slipway_v1_BuildConfig__Output>
  WatchBuild: MethodDefinition<_slipway_v1_WatchBuildRequest, _slipway_v1_Build, _slipway_v1_WatchBuildRequest__Output, _slipway_v1_Build__Output>
}
