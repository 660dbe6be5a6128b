/** Built-in PXE: DHCP / proxyDHCP, TFTP, HTTP boot and the boot gate; the `pxe` Provisioner. */
export * from "./dhcp/codec.js";
export * from "./dhcp/responder.js";
