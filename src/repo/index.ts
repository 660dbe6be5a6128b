/**
 * The config-repository loader: YAML files with source positions → DesiredState + diagnostics.
 * See docs/repository-format.md and docs/errors.md.
 */
export {
  countLabel,
  diagnosticsJson,
  formatDiagnostic,
  formatDiagnosticIn,
  formatGithubAnnotation,
  hasErrors,
  sortDiagnostics,
} from './diagnostics.js';
export { globToRegExp } from './glob.js';
export {
  MAX_ALIAS_COUNT,
  MAX_DEPTH,
  MAX_DOCUMENTS,
  MAX_FILE_BYTES,
} from './limits.js';
export type { LoadOptions, LoadResult, ParseCache } from './load.js';
export { LoadMemo, loadDirectory, loadRepo } from './load.js';
export type {
  FileDiagnostic,
  FilePos,
  ParsedDoc,
  ParsedFile,
} from './parse.js';
export { parseFile } from './parse.js';
export type { FileEntry, FileReader, ReadOptions } from './reader.js';
export { dirReader, isHiddenPath, isYamlPath } from './reader.js';
export { SCHEMA_DIR, SCHEMA_FILES, schemaOf } from './schemas.js';
export { findLiteralSecrets, SECRET_KEY } from './secrets.js';
