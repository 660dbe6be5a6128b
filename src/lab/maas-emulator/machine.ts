/**
 * The emulator's machine record and its JSON rendering. The JSON has the fields and JSON types of MAAS's recorded
 * machine objects (shared/contracts/maas: examples-nodes.json `power-on`, examples-machines.json,
 * gomaasclient-machine.json), plus `error_description` and `workload_annotations` from MAAS's
 * DISPLAYED_MACHINE_FIELDS of newer releases. Hardware details (disks, NIC vendor) are fixed sample values.
 */
import { STATUS_NAME, S } from './status.js';

export type EmuPower = 'on' | 'off' | 'unknown' | 'error';

export type EmuMachine = {
  /** Internal numeric id (interfaces, ordering). */
  id: number;
  systemId: string;
  hostname: string;
  arch: string;
  macs: string[];
  status: number;
  power: EmuPower;
  /** When set, `power_state` reads this (fault injection: a BMC MAAS cannot talk to). */
  powerOverride?: EmuPower;
  powerType: string;
  powerParams: Record<string, string>;
  owner: string | null;
  annotations: Record<string, string>;
  osystem: string;
  distroSeries: string;
  hweKernel: string | null;
  statusMessage: string;
  statusAction: string;
  errorDescription: string;
  description: string;
  userData: string | null;
  locked: boolean;
  tags: string[];
  ip: string | null;
  netboot: boolean;
  cpuCount: number;
  memory: number;
  zone: string;
  pool: string;
  /** Timed work in progress; bumping `gen` cancels it. */
  gen: number;
  timers: Set<NodeJS.Timeout>;
  /** How many times a `power_on` cycled this machine while it was running (IPMI cycle-on-if-off). */
  powerCycles: number;
  commissioned: boolean;
  /** Cached JSON text; cleared on every change. */
  json?: string | undefined;
};

const VLAN = {
  vid: 0,
  mtu: 1500,
  dhcp_on: true,
  external_dhcp: null,
  relay_vlan: null,
  fabric: 'fabric-0',
  fabric_id: 0,
  primary_rack: 'rack01',
  secondary_rack: null,
  space: 'undefined',
  name: 'untagged',
  id: 5001,
  resource_uri: '/MAAS/api/2.0/vlans/5001/',
};
const SUBNET = {
  name: '10.20.0.0/16',
  vlan: VLAN,
  cidr: '10.20.0.0/16',
  rdns_mode: 2,
  gateway_ip: '10.20.0.1',
  dns_servers: [],
  allow_dns: true,
  allow_proxy: true,
  active_discovery: false,
  managed: true,
  space: 'undefined',
  id: 1,
  resource_uri: '/MAAS/api/2.0/subnets/1/',
};
const HARDWARE_INFO = {
  system_vendor: 'QEMU',
  system_product: 'Standard PC (i440FX + PIIX, 1996)',
  system_version: 'pc-i440fx-jammy',
  system_serial: 'Unknown',
  cpu_model: 'QEMU Virtual CPU version 2.5+',
  mainboard_vendor: 'Unknown',
  mainboard_product: 'Unknown',
  mainboard_firmware_version: '1.16.0-1',
  mainboard_firmware_date: '04/01/2014',
};
const zoneJson = (name: string) => ({ name, description: '', id: name === 'default' ? 1 : idOf(name), resource_uri: `/MAAS/api/2.0/zones/${name}/` });
const poolJson = (name: string) => {
  const id = name === 'default' ? 0 : idOf(name);
  return { name, description: name === 'default' ? 'Default pool' : '', id, resource_uri: `/MAAS/api/2.0/resourcepool/${id}/` };
};
function idOf(name: string): number {
  let h = 7;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 9973;
  return h + 2;
}
const DOMAIN = { authoritative: true, ttl: null, name: 'maas', resource_record_count: 0, id: 0, is_default: true, resource_uri: '/MAAS/api/2.0/domains/0/' };

function iface(m: EmuMachine, mac: string, index: number): Record<string, unknown> {
  const deployed = m.status === S.DEPLOYED || m.status === S.DEPLOYING;
  const links =
    index === 0
      ? [{ id: m.id * 10 + index, mode: 'auto', ...(deployed && m.ip ? { ip_address: m.ip } : {}), subnet: SUBNET }]
      : [];
  const id = m.id * 10 + index;
  return {
    vlan: VLAN,
    links,
    vendor: 'Red Hat, Inc.',
    enabled: true,
    children: [],
    name: `ens${3 + index}`,
    id,
    discovered: [],
    parents: [],
    effective_mtu: 1500,
    product: 'Virtio network device',
    firmware_version: null,
    system_id: m.systemId,
    mac_address: mac,
    tags: [],
    type: 'physical',
    params: '',
    link_connected: true,
    interface_speed: 1000,
    link_speed: 1000,
    resource_uri: `/MAAS/api/2.0/nodes/${m.systemId}/interfaces/${id}/`,
  };
}

function disk(m: EmuMachine): Record<string, unknown> {
  const deployed = m.status === S.DEPLOYED || m.status === S.DEPLOYING;
  const id = m.id;
  return {
    firmware_version: null,
    model: 'QEMU HARDDISK',
    path: '/dev/disk/by-dname/sda',
    serial: `QM${String(m.id).padStart(5, '0')}`,
    block_size: 4096,
    partitions: deployed
      ? [
          {
            uuid: `00000000-0000-4000-8000-${String(m.id).padStart(12, '0')}`,
            size: 63993380864,
            bootable: false,
            tags: [],
            type: 'partition',
            path: '/dev/disk/by-dname/sda-part1',
            device_id: id,
            used_for: 'ext4 formatted filesystem mounted at /',
            system_id: m.systemId,
            filesystem: { fstype: 'ext4', label: 'root', uuid: `10000000-0000-4000-8000-${String(m.id).padStart(12, '0')}`, mount_point: '/', mount_options: null },
            id,
            resource_uri: `/MAAS/api/2.0/nodes/${m.systemId}/blockdevices/${id}/partition/${id}`,
          },
        ]
      : [],
    available_size: deployed ? 0 : 64000000000,
    used_size: deployed ? 63998623744 : 0,
    id_path: '/dev/sda',
    name: 'sda',
    id,
    used_for: deployed ? 'GPT partitioned with 1 partition' : 'Unused',
    partition_table_type: deployed ? 'GPT' : null,
    system_id: m.systemId,
    size: 64000000000,
    tags: ['ssd'],
    filesystem: null,
    uuid: null,
    storage_pool: null,
    type: 'physical',
    resource_uri: `/MAAS/api/2.0/nodes/${m.systemId}/blockdevices/${id}/`,
  };
}

const TEST_STATUS_NAME: Record<number, string> = { [-1]: 'Unknown', 0: 'Pending', 1: 'Running', 2: 'Passed', 3: 'Failed' };

/** The machine as MAAS's API renders it. */
export function renderMachine(m: EmuMachine, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const interfaces = m.macs.map((mac, i) => iface(m, mac, i));
  const d = disk(m);
  const commissioning = m.commissioned ? 2 : m.status === S.COMMISSIONING ? 1 : m.status === S.FAILED_COMMISSIONING ? 3 : -1;
  const testing = m.commissioned ? 2 : -1;
  const deployedish = m.status === S.DEPLOYED || m.status === S.DEPLOYING;
  return {
    address_ttl: null,
    architecture: m.arch,
    bcaches: [],
    bios_boot_method: 'pxe',
    blockdevice_set: [d],
    boot_disk: d,
    boot_interface: interfaces[0] ?? null,
    cache_sets: [],
    commissioning_status: commissioning,
    commissioning_status_name: TEST_STATUS_NAME[commissioning],
    cpu_count: m.cpuCount,
    cpu_speed: 2400,
    cpu_test_status: -1,
    cpu_test_status_name: 'Unknown',
    current_commissioning_result_id: m.id * 3,
    current_installation_result_id: deployedish ? m.id * 3 + 2 : null,
    current_testing_result_id: m.id * 3 + 1,
    default_gateways: { ipv4: { gateway_ip: '10.20.0.1', link_id: null }, ipv6: { gateway_ip: null, link_id: null } },
    description: m.description,
    disable_ipv4: false,
    distro_series: m.distroSeries,
    domain: DOMAIN,
    error_description: m.errorDescription,
    fqdn: `${m.hostname}.maas`,
    hardware_info: HARDWARE_INFO,
    hostname: m.hostname,
    hwe_kernel: m.hweKernel,
    interface_set: interfaces,
    interface_test_status: -1,
    interface_test_status_name: 'Unknown',
    ip_addresses: deployedish && m.ip ? [m.ip] : [],
    locked: m.locked,
    memory: m.memory,
    memory_test_status: -1,
    memory_test_status_name: 'Unknown',
    min_hwe_kernel: '',
    netboot: m.netboot,
    node_type: 0,
    node_type_name: 'Machine',
    osystem: m.osystem,
    other_test_status: -1,
    other_test_status_name: 'Unknown',
    owner: m.owner,
    owner_data: { ...m.annotations },
    physicalblockdevice_set: [d],
    pool: poolJson(m.pool),
    power_state: m.powerOverride ?? m.power,
    power_type: m.powerType,
    raids: [],
    resource_uri: `/MAAS/api/2.0/machines/${m.systemId}/`,
    special_filesystems: [],
    status: m.status,
    status_action: m.statusAction,
    status_message: m.statusMessage,
    status_name: STATUS_NAME[m.status] ?? 'Unknown',
    storage: 64000,
    storage_test_status: testing,
    storage_test_status_name: TEST_STATUS_NAME[testing],
    swap_size: null,
    system_id: m.systemId,
    tag_names: [...m.tags],
    testing_status: testing,
    testing_status_name: TEST_STATUS_NAME[testing],
    virtualblockdevice_set: [],
    volume_groups: [],
    workload_annotations: { ...m.annotations },
    zone: zoneJson(m.zone),
    ...extra,
  };
}

/** Cached JSON text of a machine (list answers join these). */
export function machineJson(m: EmuMachine): string {
  if (m.json === undefined) m.json = JSON.stringify(renderMachine(m));
  return m.json;
}
