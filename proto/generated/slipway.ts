import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AgentAllocatable as _slipway_v1_AgentAllocatable, AgentAllocatable__Output as _slipway_v1_AgentAllocatable__Output } from './slipway/v1/AgentAllocatable';
import type { AgentCacheFigures as _slipway_v1_AgentCacheFigures, AgentCacheFigures__Output as _slipway_v1_AgentCacheFigures__Output } from './slipway/v1/AgentCacheFigures';
import type { AgentServiceClient as _slipway_v1_AgentServiceClient, AgentServiceDefinition as _slipway_v1_AgentServiceDefinition } from './slipway/v1/AgentService';
import type { BinarySource as _slipway_v1_BinarySource, BinarySource__Output as _slipway_v1_BinarySource__Output } from './slipway/v1/BinarySource';
import type { Build as _slipway_v1_Build, Build__Output as _slipway_v1_Build__Output } from './slipway/v1/Build';
import type { BuildCause as _slipway_v1_BuildCause, BuildCause__Output as _slipway_v1_BuildCause__Output } from './slipway/v1/BuildCause';
import type { BuildConfig as _slipway_v1_BuildConfig, BuildConfig__Output as _slipway_v1_BuildConfig__Output } from './slipway/v1/BuildConfig';
import type { BuildConfigSpec as _slipway_v1_BuildConfigSpec, BuildConfigSpec__Output as _slipway_v1_BuildConfigSpec__Output } from './slipway/v1/BuildConfigSpec';
import type { BuildConfigStatus as _slipway_v1_BuildConfigStatus, BuildConfigStatus__Output as _slipway_v1_BuildConfigStatus__Output } from './slipway/v1/BuildConfigStatus';
import type { BuildEvent as _slipway_v1_BuildEvent, BuildEvent__Output as _slipway_v1_BuildEvent__Output } from './slipway/v1/BuildEvent';
import type { BuildOutput as _slipway_v1_BuildOutput, BuildOutput__Output as _slipway_v1_BuildOutput__Output } from './slipway/v1/BuildOutput';
import type { BuildRef as _slipway_v1_BuildRef, BuildRef__Output as _slipway_v1_BuildRef__Output } from './slipway/v1/BuildRef';
import type { BuildSecret as _slipway_v1_BuildSecret, BuildSecret__Output as _slipway_v1_BuildSecret__Output } from './slipway/v1/BuildSecret';
import type { BuildSecretValue as _slipway_v1_BuildSecretValue, BuildSecretValue__Output as _slipway_v1_BuildSecretValue__Output } from './slipway/v1/BuildSecretValue';
import type { BuildSecurity as _slipway_v1_BuildSecurity, BuildSecurity__Output as _slipway_v1_BuildSecurity__Output } from './slipway/v1/BuildSecurity';
import type { BuildServiceClient as _slipway_v1_BuildServiceClient, BuildServiceDefinition as _slipway_v1_BuildServiceDefinition } from './slipway/v1/BuildService';
import type { BuildSource as _slipway_v1_BuildSource, BuildSource__Output as _slipway_v1_BuildSource__Output } from './slipway/v1/BuildSource';
import type { BuildSpec as _slipway_v1_BuildSpec, BuildSpec__Output as _slipway_v1_BuildSpec__Output } from './slipway/v1/BuildSpec';
import type { BuildStage as _slipway_v1_BuildStage, BuildStage__Output as _slipway_v1_BuildStage__Output } from './slipway/v1/BuildStage';
import type { BuildStatus as _slipway_v1_BuildStatus, BuildStatus__Output as _slipway_v1_BuildStatus__Output } from './slipway/v1/BuildStatus';
import type { BuildStrategy as _slipway_v1_BuildStrategy, BuildStrategy__Output as _slipway_v1_BuildStrategy__Output } from './slipway/v1/BuildStrategy';
import type { BuildTrigger as _slipway_v1_BuildTrigger, BuildTrigger__Output as _slipway_v1_BuildTrigger__Output } from './slipway/v1/BuildTrigger';
import type { CancelBuildRequest as _slipway_v1_CancelBuildRequest, CancelBuildRequest__Output as _slipway_v1_CancelBuildRequest__Output } from './slipway/v1/CancelBuildRequest';
import type { ClaimBuildRequest as _slipway_v1_ClaimBuildRequest, ClaimBuildRequest__Output as _slipway_v1_ClaimBuildRequest__Output } from './slipway/v1/ClaimBuildRequest';
import type { ClaimBuildResponse as _slipway_v1_ClaimBuildResponse, ClaimBuildResponse__Output as _slipway_v1_ClaimBuildResponse__Output } from './slipway/v1/ClaimBuildResponse';
import type { CompleteBuildRequest as _slipway_v1_CompleteBuildRequest, CompleteBuildRequest__Output as _slipway_v1_CompleteBuildRequest__Output } from './slipway/v1/CompleteBuildRequest';
import type { CreateBuildConfigRequest as _slipway_v1_CreateBuildConfigRequest, CreateBuildConfigRequest__Output as _slipway_v1_CreateBuildConfigRequest__Output } from './slipway/v1/CreateBuildConfigRequest';
import type { CreateSecretRequest as _slipway_v1_CreateSecretRequest, CreateSecretRequest__Output as _slipway_v1_CreateSecretRequest__Output } from './slipway/v1/CreateSecretRequest';
import type { CustomStrategy as _slipway_v1_CustomStrategy, CustomStrategy__Output as _slipway_v1_CustomStrategy__Output } from './slipway/v1/CustomStrategy';
import type { DeleteBuildConfigRequest as _slipway_v1_DeleteBuildConfigRequest, DeleteBuildConfigRequest__Output as _slipway_v1_DeleteBuildConfigRequest__Output } from './slipway/v1/DeleteBuildConfigRequest';
import type { DeleteBuildConfigResponse as _slipway_v1_DeleteBuildConfigResponse, DeleteBuildConfigResponse__Output as _slipway_v1_DeleteBuildConfigResponse__Output } from './slipway/v1/DeleteBuildConfigResponse';
import type { DeleteSecretRequest as _slipway_v1_DeleteSecretRequest, DeleteSecretRequest__Output as _slipway_v1_DeleteSecretRequest__Output } from './slipway/v1/DeleteSecretRequest';
import type { DeleteSecretResponse as _slipway_v1_DeleteSecretResponse, DeleteSecretResponse__Output as _slipway_v1_DeleteSecretResponse__Output } from './slipway/v1/DeleteSecretResponse';
import type { DockerStrategy as _slipway_v1_DockerStrategy, DockerStrategy__Output as _slipway_v1_DockerStrategy__Output } from './slipway/v1/DockerStrategy';
import type { FailBuildRequest as _slipway_v1_FailBuildRequest, FailBuildRequest__Output as _slipway_v1_FailBuildRequest__Output } from './slipway/v1/FailBuildRequest';
import type { GetBuildConfigRequest as _slipway_v1_GetBuildConfigRequest, GetBuildConfigRequest__Output as _slipway_v1_GetBuildConfigRequest__Output } from './slipway/v1/GetBuildConfigRequest';
import type { GetBuildRequest as _slipway_v1_GetBuildRequest, GetBuildRequest__Output as _slipway_v1_GetBuildRequest__Output } from './slipway/v1/GetBuildRequest';
import type { GitCause as _slipway_v1_GitCause, GitCause__Output as _slipway_v1_GitCause__Output } from './slipway/v1/GitCause';
import type { GitSource as _slipway_v1_GitSource, GitSource__Output as _slipway_v1_GitSource__Output } from './slipway/v1/GitSource';
import type { HeartbeatRequest as _slipway_v1_HeartbeatRequest, HeartbeatRequest__Output as _slipway_v1_HeartbeatRequest__Output } from './slipway/v1/HeartbeatRequest';
import type { HeartbeatResponse as _slipway_v1_HeartbeatResponse, HeartbeatResponse__Output as _slipway_v1_HeartbeatResponse__Output } from './slipway/v1/HeartbeatResponse';
import type { ImageChangeCause as _slipway_v1_ImageChangeCause, ImageChangeCause__Output as _slipway_v1_ImageChangeCause__Output } from './slipway/v1/ImageChangeCause';
import type { ImageChangeTrigger as _slipway_v1_ImageChangeTrigger, ImageChangeTrigger__Output as _slipway_v1_ImageChangeTrigger__Output } from './slipway/v1/ImageChangeTrigger';
import type { ImageOutput as _slipway_v1_ImageOutput, ImageOutput__Output as _slipway_v1_ImageOutput__Output } from './slipway/v1/ImageOutput';
import type { ImageSource as _slipway_v1_ImageSource, ImageSource__Output as _slipway_v1_ImageSource__Output } from './slipway/v1/ImageSource';
import type { ImageSourcePath as _slipway_v1_ImageSourcePath, ImageSourcePath__Output as _slipway_v1_ImageSourcePath__Output } from './slipway/v1/ImageSourcePath';
import type { ImageTriggerState as _slipway_v1_ImageTriggerState, ImageTriggerState__Output as _slipway_v1_ImageTriggerState__Output } from './slipway/v1/ImageTriggerState';
import type { ListBuildConfigsRequest as _slipway_v1_ListBuildConfigsRequest, ListBuildConfigsRequest__Output as _slipway_v1_ListBuildConfigsRequest__Output } from './slipway/v1/ListBuildConfigsRequest';
import type { ListBuildConfigsResponse as _slipway_v1_ListBuildConfigsResponse, ListBuildConfigsResponse__Output as _slipway_v1_ListBuildConfigsResponse__Output } from './slipway/v1/ListBuildConfigsResponse';
import type { ListBuildsRequest as _slipway_v1_ListBuildsRequest, ListBuildsRequest__Output as _slipway_v1_ListBuildsRequest__Output } from './slipway/v1/ListBuildsRequest';
import type { ListBuildsResponse as _slipway_v1_ListBuildsResponse, ListBuildsResponse__Output as _slipway_v1_ListBuildsResponse__Output } from './slipway/v1/ListBuildsResponse';
import type { LogLine as _slipway_v1_LogLine, LogLine__Output as _slipway_v1_LogLine__Output } from './slipway/v1/LogLine';
import type { NameValue as _slipway_v1_NameValue, NameValue__Output as _slipway_v1_NameValue__Output } from './slipway/v1/NameValue';
import type { NamedCredentials as _slipway_v1_NamedCredentials, NamedCredentials__Output as _slipway_v1_NamedCredentials__Output } from './slipway/v1/NamedCredentials';
import type { ObjectMeta as _slipway_v1_ObjectMeta, ObjectMeta__Output as _slipway_v1_ObjectMeta__Output } from './slipway/v1/ObjectMeta';
import type { PlacedAttempt as _slipway_v1_PlacedAttempt, PlacedAttempt__Output as _slipway_v1_PlacedAttempt__Output } from './slipway/v1/PlacedAttempt';
import type { PlatformBuild as _slipway_v1_PlatformBuild, PlatformBuild__Output as _slipway_v1_PlatformBuild__Output } from './slipway/v1/PlatformBuild';
import type { PreviousAttempt as _slipway_v1_PreviousAttempt, PreviousAttempt__Output as _slipway_v1_PreviousAttempt__Output } from './slipway/v1/PreviousAttempt';
import type { RecordSourceImagesRequest as _slipway_v1_RecordSourceImagesRequest, RecordSourceImagesRequest__Output as _slipway_v1_RecordSourceImagesRequest__Output } from './slipway/v1/RecordSourceImagesRequest';
import type { RegistryCredentials as _slipway_v1_RegistryCredentials, RegistryCredentials__Output as _slipway_v1_RegistryCredentials__Output } from './slipway/v1/RegistryCredentials';
import type { ResourceLimits as _slipway_v1_ResourceLimits, ResourceLimits__Output as _slipway_v1_ResourceLimits__Output } from './slipway/v1/ResourceLimits';
import type { Secret as _slipway_v1_Secret, Secret__Output as _slipway_v1_Secret__Output } from './slipway/v1/Secret';
import type { SecretReference as _slipway_v1_SecretReference, SecretReference__Output as _slipway_v1_SecretReference__Output } from './slipway/v1/SecretReference';
import type { SourceImageDigest as _slipway_v1_SourceImageDigest, SourceImageDigest__Output as _slipway_v1_SourceImageDigest__Output } from './slipway/v1/SourceImageDigest';
import type { SourceStrategy as _slipway_v1_SourceStrategy, SourceStrategy__Output as _slipway_v1_SourceStrategy__Output } from './slipway/v1/SourceStrategy';
import type { StartBuildRequest as _slipway_v1_StartBuildRequest, StartBuildRequest__Output as _slipway_v1_StartBuildRequest__Output } from './slipway/v1/StartBuildRequest';
import type { StartBuildUpload as _slipway_v1_StartBuildUpload, StartBuildUpload__Output as _slipway_v1_StartBuildUpload__Output } from './slipway/v1/StartBuildUpload';
import type { StopOrder as _slipway_v1_StopOrder, StopOrder__Output as _slipway_v1_StopOrder__Output } from './slipway/v1/StopOrder';
import type { StreamBuildLogsRequest as _slipway_v1_StreamBuildLogsRequest, StreamBuildLogsRequest__Output as _slipway_v1_StreamBuildLogsRequest__Output } from './slipway/v1/StreamBuildLogsRequest';
import type { UpdateBuildConfigRequest as _slipway_v1_UpdateBuildConfigRequest, UpdateBuildConfigRequest__Output as _slipway_v1_UpdateBuildConfigRequest__Output } from './slipway/v1/UpdateBuildConfigRequest';
import type { WatchBuildRequest as _slipway_v1_WatchBuildRequest, WatchBuildRequest__Output as _slipway_v1_WatchBuildRequest__Output } from './slipway/v1/WatchBuildRequest';
import type { WebhookDelivery as _slipway_v1_WebhookDelivery, WebhookDelivery__Output as _slipway_v1_WebhookDelivery__Output } from './slipway/v1/WebhookDelivery';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  slipway: {
    v1: {
      AgentAllocatable: MessageTypeDefinition<_slipway_v1_AgentAllocatable, _slipway_v1_AgentAllocatable__Output>
      AgentCacheFigures: MessageTypeDefinition<_slipway_v1_AgentCacheFigures, _slipway_v1_AgentCacheFigures__Output>
      AgentService: SubtypeConstructor<typeof grpc.Client, _slipway_v1_AgentServiceClient> & { service: _slipway_v1_AgentServiceDefinition }
      BinarySource: MessageTypeDefinition<_slipway_v1_BinarySource, _slipway_v1_BinarySource__Output>
      Build: MessageTypeDefinition<_slipway_v1_Build, _slipway_v1_Build__Output>
      BuildCause: MessageTypeDefinition<_slipway_v1_BuildCause, _slipway_v1_BuildCause__Output>
      BuildConfig: MessageTypeDefinition<_slipway_v1_BuildConfig, _slipway_v1_BuildConfig__Output>
      BuildConfigSpec: MessageTypeDefinition<_slipway_v1_BuildConfigSpec, _slipway_v1_BuildConfigSpec__Output>
      BuildConfigStatus: MessageTypeDefinition<_slipway_v1_BuildConfigStatus, _slipway_v1_BuildConfigStatus__Output>
      BuildEvent: MessageTypeDefinition<_slipway_v1_BuildEvent, _slipway_v1_BuildEvent__Output>
      BuildOutput: MessageTypeDefinition<_slipway_v1_BuildOutput, _slipway_v1_BuildOutput__Output>
      BuildRef: MessageTypeDefinition<_slipway_v1_BuildRef, _slipway_v1_BuildRef__Output>
      BuildSecret: MessageTypeDefinition<_slipway_v1_BuildSecret, _slipway_v1_BuildSecret__Output>
      BuildSecretValue: MessageTypeDefinition<_slipway_v1_BuildSecretValue, _slipway_v1_BuildSecretValue__Output>
      BuildSecurity: MessageTypeDefinition<_slipway_v1_BuildSecurity, _slipway_v1_BuildSecurity__Output>
      BuildService: SubtypeConstructor<typeof grpc.Client, _slipway_v1_BuildServiceClient> & { service: _slipway_v1_BuildServiceDefinition }
      BuildSource: MessageTypeDefinition<_slipway_v1_BuildSource, _slipway_v1_BuildSource__Output>
      BuildSpec: MessageTypeDefinition<_slipway_v1_BuildSpec, _slipway_v1_BuildSpec__Output>
      BuildStage: MessageTypeDefinition<_slipway_v1_BuildStage, _slipway_v1_BuildStage__Output>
      BuildStatus: MessageTypeDefinition<_slipway_v1_BuildStatus, _slipway_v1_BuildStatus__Output>
      BuildStrategy: MessageTypeDefinition<_slipway_v1_BuildStrategy, _slipway_v1_BuildStrategy__Output>
      BuildTrigger: MessageTypeDefinition<_slipway_v1_BuildTrigger, _slipway_v1_BuildTrigger__Output>
      CancelBuildRequest: MessageTypeDefinition<_slipway_v1_CancelBuildRequest, _slipway_v1_CancelBuildRequest__Output>
      ClaimBuildRequest: MessageTypeDefinition<_slipway_v1_ClaimBuildRequest, _slipway_v1_ClaimBuildRequest__Output>
      ClaimBuildResponse: MessageTypeDefinition<_slipway_v1_ClaimBuildResponse, _slipway_v1_ClaimBuildResponse__Output>
      CompleteBuildRequest: MessageTypeDefinition<_slipway_v1_CompleteBuildRequest, _slipway_v1_CompleteBuildRequest__Output>
      CreateBuildConfigRequest: MessageTypeDefinition<_slipway_v1_CreateBuildConfigRequest, _slipway_v1_CreateBuildConfigRequest__Output>
      CreateSecretRequest: MessageTypeDefinition<_slipway_v1_CreateSecretRequest, _slipway_v1_CreateSecretRequest__Output>
      CustomStrategy: MessageTypeDefinition<_slipway_v1_CustomStrategy, _slipway_v1_CustomStrategy__Output>
      DeleteBuildConfigRequest: MessageTypeDefinition<_slipway_v1_DeleteBuildConfigRequest, _slipway_v1_DeleteBuildConfigRequest__Output>
      DeleteBuildConfigResponse: MessageTypeDefinition<_slipway_v1_DeleteBuildConfigResponse, _slipway_v1_DeleteBuildConfigResponse__Output>
      DeleteSecretRequest: MessageTypeDefinition<_slipway_v1_DeleteSecretRequest, _slipway_v1_DeleteSecretRequest__Output>
      DeleteSecretResponse: MessageTypeDefinition<_slipway_v1_DeleteSecretResponse, _slipway_v1_DeleteSecretResponse__Output>
      DockerStrategy: MessageTypeDefinition<_slipway_v1_DockerStrategy, _slipway_v1_DockerStrategy__Output>
      FailBuildRequest: MessageTypeDefinition<_slipway_v1_FailBuildRequest, _slipway_v1_FailBuildRequest__Output>
      GetBuildConfigRequest: MessageTypeDefinition<_slipway_v1_GetBuildConfigRequest, _slipway_v1_GetBuildConfigRequest__Output>
      GetBuildRequest: MessageTypeDefinition<_slipway_v1_GetBuildRequest, _slipway_v1_GetBuildRequest__Output>
      GitCause: MessageTypeDefinition<_slipway_v1_GitCause, _slipway_v1_GitCause__Output>
      GitSource: MessageTypeDefinition<_slipway_v1_GitSource, _slipway_v1_GitSource__Output>
      HeartbeatRequest: MessageTypeDefinition<_slipway_v1_HeartbeatRequest, _slipway_v1_HeartbeatRequest__Output>
      HeartbeatResponse: MessageTypeDefinition<_slipway_v1_HeartbeatResponse, _slipway_v1_HeartbeatResponse__Output>
      ImageChangeCause: MessageTypeDefinition<_slipway_v1_ImageChangeCause, _slipway_v1_ImageChangeCause__Output>
      ImageChangeTrigger: MessageTypeDefinition<_slipway_v1_ImageChangeTrigger, _slipway_v1_ImageChangeTrigger__Output>
      ImageOutput: MessageTypeDefinition<_slipway_v1_ImageOutput, _slipway_v1_ImageOutput__Output>
      ImageSource: MessageTypeDefinition<_slipway_v1_ImageSource, _slipway_v1_ImageSource__Output>
      ImageSourcePath: MessageTypeDefinition<_slipway_v1_ImageSourcePath, _slipway_v1_ImageSourcePath__Output>
      ImageTriggerState: MessageTypeDefinition<_slipway_v1_ImageTriggerState, _slipway_v1_ImageTriggerState__Output>
      ListBuildConfigsRequest: MessageTypeDefinition<_slipway_v1_ListBuildConfigsRequest, _slipway_v1_ListBuildConfigsRequest__Output>
      ListBuildConfigsResponse: MessageTypeDefinition<_slipway_v1_ListBuildConfigsResponse, _slipway_v1_ListBuildConfigsResponse__Output>
      ListBuildsRequest: MessageTypeDefinition<_slipway_v1_ListBuildsRequest, _slipway_v1_ListBuildsRequest__Output>
      ListBuildsResponse: MessageTypeDefinition<_slipway_v1_ListBuildsResponse, _slipway_v1_ListBuildsResponse__Output>
      LogLine: MessageTypeDefinition<_slipway_v1_LogLine, _slipway_v1_LogLine__Output>
      NameValue: MessageTypeDefinition<_slipway_v1_NameValue, _slipway_v1_NameValue__Output>
      NamedCredentials: MessageTypeDefinition<_slipway_v1_NamedCredentials, _slipway_v1_NamedCredentials__Output>
      ObjectMeta: MessageTypeDefinition<_slipway_v1_ObjectMeta, _slipway_v1_ObjectMeta__Output>
      PlacedAttempt: MessageTypeDefinition<_slipway_v1_PlacedAttempt, _slipway_v1_PlacedAttempt__Output>
      PlatformBuild: MessageTypeDefinition<_slipway_v1_PlatformBuild, _slipway_v1_PlatformBuild__Output>
      PreviousAttempt: MessageTypeDefinition<_slipway_v1_PreviousAttempt, _slipway_v1_PreviousAttempt__Output>
      RecordSourceImagesRequest: MessageTypeDefinition<_slipway_v1_RecordSourceImagesRequest, _slipway_v1_RecordSourceImagesRequest__Output>
      RegistryCredentials: MessageTypeDefinition<_slipway_v1_RegistryCredentials, _slipway_v1_RegistryCredentials__Output>
      ResourceLimits: MessageTypeDefinition<_slipway_v1_ResourceLimits, _slipway_v1_ResourceLimits__Output>
      Secret: MessageTypeDefinition<_slipway_v1_Secret, _slipway_v1_Secret__Output>
      SecretReference: MessageTypeDefinition<_slipway_v1_SecretReference, _slipway_v1_SecretReference__Output>
      SourceImageDigest: MessageTypeDefinition<_slipway_v1_SourceImageDigest, _slipway_v1_SourceImageDigest__Output>
      SourceStrategy: MessageTypeDefinition<_slipway_v1_SourceStrategy, _slipway_v1_SourceStrategy__Output>
      StartBuildRequest: MessageTypeDefinition<_slipway_v1_StartBuildRequest, _slipway_v1_StartBuildRequest__Output>
      StartBuildUpload: MessageTypeDefinition<_slipway_v1_StartBuildUpload, _slipway_v1_StartBuildUpload__Output>
      StopOrder: MessageTypeDefinition<_slipway_v1_StopOrder, _slipway_v1_StopOrder__Output>
      StreamBuildLogsRequest: MessageTypeDefinition<_slipway_v1_StreamBuildLogsRequest, _slipway_v1_StreamBuildLogsRequest__Output>
      UpdateBuildConfigRequest: MessageTypeDefinition<_slipway_v1_UpdateBuildConfigRequest, _slipway_v1_UpdateBuildConfigRequest__Output>
      WatchBuildRequest: MessageTypeDefinition<_slipway_v1_WatchBuildRequest, _slipway_v1_WatchBuildRequest__Output>
      WebhookDelivery: MessageTypeDefinition<_slipway_v1_WebhookDelivery, _slipway_v1_WebhookDelivery__Output>
    }
  }
}

