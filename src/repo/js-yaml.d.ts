// The part of js-yaml 4 the loader uses (the package ships no types; @types/js-yaml is not installed).
declare module 'js-yaml' {
  export type Schema = { readonly __brand: 'js-yaml schema' };
  export const CORE_SCHEMA: Schema;
  export function loadAll(
    text: string,
    iterator?: null | undefined,
    opts?: { schema?: Schema; json?: boolean; filename?: string },
  ): unknown[];
}
