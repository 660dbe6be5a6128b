/** Native IPMI v2.0 (RMCP+) client and the IPMI PowerDriver. See docs/ipmi.md. */
export * from './codec.js';
export * from './commands.js';
export * from './crypto.js';
export { DEFAULT_IPMI_USERNAME, type IpmiDriverOptions, type IpmiLogger, IpmiPowerDriver, describeBmc } from './driver.js';
export {
  CipherSuiteRejected,
  IPMI_PORT,
  IpmiCompletionError,
  IpmiSession,
  type Privilege,
  type RequestOptions,
  type SessionOptions,
  classifyCompletion,
  privilegeName,
} from './session.js';
