/** Built-in PXE: DHCP / proxyDHCP, TFTP, HTTP boot and the boot gate; the `pxe` Provisioner. */
export * from './dhcp/codec.js';
export * from './dhcp/responder.js';
export * from './events.js';
export * from './jail.js';
export * from './tftp/codec.js';
export * from './tftp/transfer.js';
export * from './tftp/server.js';
export * from './dhcp/leases.js';
export * from './dhcp/server.js';
export * from './gate.js';
export * from './event-log.js';
export * from './http/server.js';
export * from './service.js';
export * from './provisioner.js';
