/** The lab: what `gough lab`, the tests and the benchmarks run against. */
export {
  EMULATOR_ROUTES,
  generateApiKey,
  seedMachinesFromHosts,
  startMaasEmulator,
  type EmulatedMachine,
  type FaultConfig,
  type MaasEmulator,
  type MaasEmulatorOptions,
  type OpFault,
  type RequestLogEntry,
  type SeedFromHostsOptions,
  type SeedMachine,
} from './maas-emulator/index.js';
// lab orchestration (helper "lab")
export { GENERATED_HOSTS_DIR, GENERATED_LABEL, generateHosts, type GeneratedHostFile } from './fleet.js';
export { LAB_BRANCH, commitAll, ensureLabRepo, git, writeGeneratedHosts, type LabRepo } from './lab-repo.js';
export {
  STATUS_BRANCH,
  commentPath,
  startLab,
  type LabDaemon,
  type LabDaemonOptions,
  type LabDeps,
  type LabEmulator,
  type LabIo,
  type LabOptions,
  type RepoHosts,
  type RunningLab,
} from './lab.js';
export { ProgressPrinter, bar, fleetProgress, formatLifecycles, type FleetProgress } from './progress.js';
export { labPaths, resolveStateDir, type LabPaths } from './state-dir.js';
