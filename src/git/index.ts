export { GitSource, GitFileReader } from './source.js';
export type { GitAuth, GitSourceOptions, GitFileEntry, GitFileReaderOptions } from './source.js';
export { DiskParseCache } from './parse-cache.js';
export { GitStatusWriter } from './status-writer.js';
export type { GitStatusWriterOptions, StatusWriteResult } from './status-writer.js';
export { watchBranch, cronTrigger, pollTrigger } from './triggers.js';
export type { Trigger } from './triggers.js';
