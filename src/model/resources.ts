/**
 * Resource types of a config repository (apiVersion `gough.dev/v1`). These mirror
 * `schemas/<kind>.schema.json` exactly; `test/unit/model/schema-drift.test.ts` keeps them in step.
 */

export const API_VERSION = 'gough.dev/v1' as const;
export const KINDS = ['Site', 'Host', 'Template', 'Policy', 'RepoConfig'] as const;
export type Kind = (typeof KINDS)[number];

/** A reference to a secret kept outside Git. A literal secret in the repo is a validation error. */
export type SecretRef = { env: string } | { file: string; key?: string };

export type Metadata = {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  description?: string;
};

export type Resource<K extends Kind, S> = {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: Metadata;
  spec: S;
};

// ---------------------------------------------------------------------------------------------
// Site

export type BmcDriverName = 'ipmi' | 'maas';
export type IpmiCipherSuite = 3 | 17;

export type SiteSpec = {
  provisioner: 'maas' | 'pxe';
  /** IANA time zone used when a policy window names none. */
  timezone?: string;
  maas?: {
    url: string;
    apiKeyRef: SecretRef;
    zone?: string;
    pool?: string;
    /** Erase disks on release. */
    eraseOnRelease?: boolean;
  };
  pxe?: {
    interface: string;
    mode: 'dhcp' | 'proxy';
    /** CIDR of the provisioning network, e.g. 10.20.0.0/24. */
    subnet: string;
    /** Dynamic pool (dhcp mode only); static leases come from hosts. */
    range?: { start: string; end: string };
    router?: string;
    dns?: string[];
    domain?: string;
    /** Address of this daemon on the provisioning network (next-server, HTTP boot). */
    bootServer: string;
    httpPort?: number;
    tftpRoot?: string;
    leaseSeconds?: number;
    /** Boot unknown MACs into discovery and record them. */
    discover?: boolean;
    /** Kernel/initrd/installer the iPXE script boots. */
    installer?: { kernel: string; initrd: string[]; args?: string };
  };
  bmc?: { driver: BmcDriverName; credentialsRef?: SecretRef; username?: string; cipher?: IpmiCipherSuite };
  agent?: { enabled: boolean; reportIntervalSeconds?: number; tokenRef?: SecretRef };
  limits?: { maxProvisioning?: number };
};
export type Site = Resource<'Site', SiteSpec>;

// ---------------------------------------------------------------------------------------------
// Host

export type Bmc = {
  driver: BmcDriverName;
  address: string;
  port?: number;
  username?: string;
  credentialsRef?: SecretRef;
  cipher?: IpmiCipherSuite;
};

export type HostSpec = {
  site: string;
  /** DNS hostname; defaults to metadata.name. */
  hostname?: string;
  hardware: {
    /** Lower-case, colon-separated MAC addresses. */
    macs: string[];
    bootMac?: string;
    arch: 'amd64' | 'arm64';
    firmware: 'uefi' | 'bios';
    bmc?: Bmc;
  };
  state: 'deployed' | 'ready' | 'absent';
  power: 'on' | 'off';
  os?: { distro: string; series: string };
  template?: string;
  vars?: Record<string, string | number | boolean>;
  network?: { address?: string; gateway?: string; dns?: string[] };
};
export type Host = Resource<'Host', HostSpec>;

// ---------------------------------------------------------------------------------------------
// Template

export type TemplateSpec = {
  /** cloud-init cloud-config as YAML mapping; string values are templates. */
  cloudConfig?: Record<string, unknown>;
  /** Raw user-data text (a template); exclusive with cloudConfig. */
  userData?: string;
  boot?: { kernelArgs?: string; ipxe?: string };
  /** Install and enrol the Gough agent. */
  agent?: boolean;
  /** Variables the template reads, with defaults. */
  vars?: Record<string, { description?: string; default?: string | number | boolean }>;
};
export type Template = Resource<'Template', TemplateSpec>;

// ---------------------------------------------------------------------------------------------
// Policy

export type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
  /** Restrict to hosts of these sites. */
  sites?: string[];
  /** Restrict to these host names. */
  hosts?: string[];
};

export type MaintenanceWindow = {
  /** Five-field cron expression for the window's start. */
  schedule: string;
  /** Length, e.g. "4h", "90m". */
  duration: string;
  /** IANA time zone; defaults to the site's, then UTC. */
  timezone?: string;
};

export type PolicySpec = {
  selector: LabelSelector;
  maintenanceWindows?: MaintenanceWindow[];
  /** Count, or percent string like "25%", of the selected hosts that may be unavailable at once. */
  maxUnavailable?: number | string;
  requireApprovals?: { count: number; from?: string[] };
  protect?: boolean;
  rollout?: { batchSize: number };
};
export type Policy = Resource<'Policy', PolicySpec>;

// ---------------------------------------------------------------------------------------------
// RepoConfig (the repository settings file, gough.yaml at the root)

export type RepoConfigSpec = {
  statusBranch?: string;
  /** Glob patterns (relative to the root) of files the loader skips. */
  ignore?: string[];
  /** What to do with machines the provider has but the repo does not: report only (default). */
  orphans?: 'report';
};
export type RepoConfig = Resource<'RepoConfig', RepoConfigSpec>;

export type AnyResource = Site | Host | Template | Policy | RepoConfig;

/** The hostname a host is known by: spec.hostname or metadata.name. */
export function hostnameOf(h: Host): string {
  return h.spec.hostname ?? h.metadata.name;
}

/** The MAC a host boots from: bootMac, else the first MAC. */
export function bootMacOf(h: Host): string | undefined {
  return h.spec.hardware.bootMac ?? h.spec.hardware.macs[0];
}
