// Original file: proto/slipway/v1/slipway.proto

import type { BuildRef as _slipway_v1_BuildRef, BuildRef__Output as _slipway_v1_BuildRef__Output } from '../../slipway/v1/BuildRef';
import type { AgentCacheFigures as _slipway_v1_AgentCacheFigures, AgentCacheFigures__Output as _slipway_v1_AgentCacheFigures__Output } from '../../slipway/v1/AgentCacheFigures';
import type { AgentAllocatable as _slipway_v1_AgentAllocatable, AgentAllocatable__Output as _slipway_v1_AgentAllocatable__Output } from '../../slipway/v1/AgentAllocatable';

export interface HeartbeatRequest {
  'agent'?: (string);
  'node'?: (string);
  /**
   * Names this run of the agent; a new one means the agent restarted.
   */
  'instance'?: (string);
  /**
   * The attempts this agent is running now.
   */
  'running'?: (_slipway_v1_BuildRef)[];
  /**
   * The labels of the agent's node (empty when the agent does not read its Node).
   */
  'nodeLabels'?: ({[key: string]: string});
  /**
   * The agent's node is cordoned (spec.unschedulable): it claims nothing new.
   */
  'cordoned'?: (boolean);
  /**
   * Builds it runs at once at most (0: not said).
   */
  'capacity'?: (number);
  /**
   * What it holds warm and what its garbage collector freed.
   */
  'cache'?: (_slipway_v1_AgentCacheFigures | null);
  /**
   * What the agent's node offers builds; what is not said is not counted.
   */
  'allocatable'?: (_slipway_v1_AgentAllocatable | null);
  /**
   * The agent is stopping: it finishes what it runs and claims nothing new.
   */
  'draining'?: (boolean);
  /**
   * What it holds warm, newest first: configs it built (namespace/name) and base images it pulled.
   */
  'warmConfigs'?: (string)[];
  'warmImages'?: (string)[];
  /**
   * Its executor can hold a Dockerfile build to the build's resources: it gives such a build a
   * Docker daemon of its own inside a limited cgroup (dind). BuildKit on a shared daemon ignores
   * a build's limits, so placement sends a Dockerfile build with resources only where this is true.
   */
  'limitsDockerfileBuilds'?: (boolean);
  /**
   * What a build's root is on the node: "userns" (a user namespace: an unprivileged uid of the
   * node's subordinate range), "host-root" (the node's root, on the node's shared daemon) or
   * "privileged-root" (the node's root, in a privileged private daemon). Empty: not said (an
   * older agent), taken as not "userns".
   */
  'isolation'?: (string);
  /**
   * Its executor can start a Docker daemon of a build's own, destroyed after it (dind): what a
   * custom builder's exposeDockerSocket is given. Placement sends such builds only where this is true.
   */
  'daemonPerBuild'?: (boolean);
}

export interface HeartbeatRequest__Output {
  'agent': (string);
  'node': (string);
  /**
   * Names this run of the agent; a new one means the agent restarted.
   */
  'instance': (string);
  /**
   * The attempts this agent is running now.
   */
  'running': (_slipway_v1_BuildRef__Output)[];
  /**
   * The labels of the agent's node (empty when the agent does not read its Node).
   */
  'nodeLabels': ({[key: string]: string});
  /**
   * The agent's node is cordoned (spec.unschedulable): it claims nothing new.
   */
  'cordoned': (boolean);
  /**
   * Builds it runs at once at most (0: not said).
   */
  'capacity': (number);
  /**
   * What it holds warm and what its garbage collector freed.
   */
  'cache': (_slipway_v1_AgentCacheFigures__Output | null);
  /**
   * What the agent's node offers builds; what is not said is not counted.
   */
  'allocatable': (_slipway_v1_AgentAllocatable__Output | null);
  /**
   * The agent is stopping: it finishes what it runs and claims nothing new.
   */
  'draining': (boolean);
  /**
   * What it holds warm, newest first: configs it built (namespace/name) and base images it pulled.
   */
  'warmConfigs': (string)[];
  'warmImages': (string)[];
  /**
   * Its executor can hold a Dockerfile build to the build's resources: it gives such a build a
   * Docker daemon of its own inside a limited cgroup (dind). BuildKit on a shared daemon ignores
   * a build's limits, so placement sends a Dockerfile build with resources only where this is true.
   */
  'limitsDockerfileBuilds': (boolean);
  /**
   * What a build's root is on the node: "userns" (a user namespace: an unprivileged uid of the
   * node's subordinate range), "host-root" (the node's root, on the node's shared daemon) or
   * "privileged-root" (the node's root, in a privileged private daemon). Empty: not said (an
   * older agent), taken as not "userns".
   */
  'isolation': (string);
  /**
   * Its executor can start a Docker daemon of a build's own, destroyed after it (dind): what a
   * custom builder's exposeDockerSocket is given. Placement sends such builds only where this is true.
   */
  'daemonPerBuild': (boolean);
}
