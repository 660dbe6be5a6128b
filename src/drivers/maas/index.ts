/** MAAS API 2.0 driver: the client and the `Provisioner`. */
export {
  MAAS_OPERATIONS,
  MaasClient,
  parseRetryAfter,
  type CreateMachineInput,
  type DeployInput,
  type FetchLike,
  type MaasCallOptions,
  type MaasClientOptions,
  type MaasOperation,
  type ReleaseInput,
} from './client.js';
export { oauthHeader, parseApiKey, type MaasCredentials } from './oauth.js';
export {
  ANNOTATION_REVISION,
  ANNOTATION_SPEC_HASH,
  DEFAULT_DEADLINES_MS,
  MaasProvisioner,
  distroSeriesOf,
  maasHostnameOf,
  mapObserved,
  matchMachines,
  toObservedHost,
  type MaasProvisionerOptions,
} from './provisioner.js';
export { LIFECYCLE_OF_STATUS, NODE_STATUS, NODE_STATUS_LABEL, lifecycleOfStatus, powerOf } from './status.js';
export {
  parseEventsPage,
  parseMachine,
  parseMachines,
  parseTag,
  parseUser,
  parseVersion,
  type MaasEvent,
  type MaasEventsPage,
  type MaasInterface,
  type MaasMachine,
  type MaasTag,
  type MaasUser,
  type MaasVersion,
} from './types.js';
