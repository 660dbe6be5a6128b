export { parsePushEvent, signBody, verifySignature } from './webhook.js';
export type { PushEvent } from './webhook.js';
