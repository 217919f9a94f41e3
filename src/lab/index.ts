/**
 * The Linux network-namespace NAT lab: real kernel NAT (nftables) between clients and a public
 * segment, for validating nat-probe's classifier and traversal claims. See README.md.
 */
export { NAT_TYPES, isNatType, isTranslating, type NatType, type TranslatingNatType } from './nat-types.js';
export { LabError, LabPreflightError, LabSpecError, LabCommandError, LabServerError, LabStateError, type LabErrorCode } from './errors.js';
export { DEFAULT_LAB_PREFIX, normalizeLabSpec, validatePrefix, type LabSpec, type NormalizedLabSpec } from './spec.js';
export {
  planLab,
  SERVER_PRIMARY_ADDRESS,
  SERVER_ALTERNATE_ADDRESS,
  PUBLIC_NETWORK,
  CGN_NETWORK,
  SIDE_ADDRESSING,
  type Lab,
  type LabSide,
  type LabRouter,
  type LabClient,
  type LabPlan,
  type NamespacePlan,
  type SideName,
} from './topology.js';
export { routerRuleset, firewallHostRuleset, bridgeLossRuleset, LAB_TABLE, SEQUENTIAL_PORT_OFFSET, SEQUENTIAL_PORT_COUNT } from './nat-rules.js';
export { buildLab, withLab, type BuildOptions } from './build.js';
export { destroyLab, destroyAllLabs, type DestroyOptions } from './destroy.js';
export { spawnInNamespace, execInNamespace, trackedProcesses, stopTrackedProcesses } from './exec.js';
export { listNamespaces } from './namespaces.js';
export {
  startLabServers,
  buildLabWithServers,
  LAB_STUN_PORT,
  LAB_STUN_ALTERNATE_PORT,
  LAB_SIGNAL_PORT,
  LAB_TURN_PORT,
  LAB_TURN_REALM,
  LAB_RUN_DIR,
  type LabServers,
  type StartLabServersOptions,
  type LabBringUpOptions,
} from './servers.js';
export { assertLabPrerequisites, labAvailable, type LabAvailability, type PreflightOptions } from './preflight.js';
export { labStatus, listLabs, nftRuleset, parseConntrackLine, type LabStatus, type NamespaceStatus, type ConntrackEntry, type NftSummary } from './status.js';
export {
  EXPECTED_BEHAVIOUR,
  DETECT_CLASSIC_NAME,
  MEASURED_HOLE_PUNCHING,
  effectiveBehaviour,
  expectDirectSuccess,
  type NatBehaviour,
  type MappingBehaviour,
  type FilteringBehaviour,
  type PortAllocation,
} from './expected.js';
