// Original file: proto/slipway/v1/slipway.proto

import type { BuildConfigSpec as _slipway_v1_BuildConfigSpec, BuildConfigSpec__Output as _slipway_v1_BuildConfigSpec__Output } from '../../slipway/v1/BuildConfigSpec';
import type { BuildCause as _slipway_v1_BuildCause, BuildCause__Output as _slipway_v1_BuildCause__Output } from '../../slipway/v1/BuildCause';
import type { Long } from '@grpc/proto-loader';

export interface BuildSpec {
  'configName'?: (string);
  /**
   * The config's generation this build was frozen from.
   */
  'configGeneration'?: (number | string | Long);
  /**
   * A frozen copy of the config's spec, with StartBuild's overrides applied.
   */
  'config'?: (_slipway_v1_BuildConfigSpec | null);
  /**
   * Why the build was started.
   */
  'triggeredBy'?: (_slipway_v1_BuildCause)[];
  /**
   * A platform build: the one platform (os/arch[/variant]) it builds, pushed by digest only.
   */
  'platform'?: (string);
  /**
   * A platform build: the build of several platforms it is part of.
   */
  'parent'?: (string);
}

export interface BuildSpec__Output {
  'configName': (string);
  /**
   * The config's generation this build was frozen from.
   */
  'configGeneration': (number);
  /**
   * A frozen copy of the config's spec, with StartBuild's overrides applied.
   */
  'config': (_slipway_v1_BuildConfigSpec__Output | null);
  /**
   * Why the build was started.
   */
  'triggeredBy': (_slipway_v1_BuildCause__Output)[];
  /**
   * A platform build: the one platform (os/arch[/variant]) it builds, pushed by digest only.
   */
  'platform': (string);
  /**
   * A platform build: the build of several platforms it is part of.
   */
  'parent': (string);
}
