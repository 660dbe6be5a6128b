/** The shape every `gough` sub-command has. `cli/main.ts` lists them explicitly (no self-registration). */
export type CliIo = {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
};

export type Command = {
  name: string;
  /** One line for `gough --help`. */
  summary: string;
  /** Full `--help` text: usage line, options, examples. */
  help: string;
  /** Resolves with the process exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
};

/** Exit codes shared by all commands. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
