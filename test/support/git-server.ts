/**
 * A real smart-HTTP Git server for tests: `git http-backend` (CGI) spawned per request behind a Node http server
 * on 127.0.0.1 (PEERS.md appendix E). Optional token auth (HTTP Basic, any user name), and `stop`/`start` to take
 * the remote down and up again on the same port. Helpers create bare repositories and push commits with native git.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type GitServer = {
  root: string;
  port: number;
  url(repo: string): string;
  /** Requests served, most recent last (method and path). */
  requests: { method: string; path: string; status: number }[];
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
};

export async function startGitServer(opts: { root?: string; token?: string } = {}): Promise<GitServer> {
  const root = opts.root ?? mkdtempSync(join(tmpdir(), 'gough-git-srv-'));
  const requests: GitServer['requests'] = [];
  const handler: http.RequestListener = (req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    if (opts.token !== undefined) {
      const auth = req.headers.authorization ?? '';
      const m = /^Basic (.+)$/.exec(auth);
      const pass = m ? Buffer.from(m[1]!, 'base64').toString().split(':').slice(1).join(':') : undefined;
      if (pass !== opts.token) {
        requests.push({ method: req.method ?? '', path: u.pathname, status: 401 });
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
        res.end();
        return;
      }
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(u.pathname),
      REQUEST_METHOD: req.method,
      QUERY_STRING: u.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress,
      REMOTE_USER: 'test',
      GIT_PROTOCOL: (req.headers['git-protocol'] as string | undefined) ?? '',
      HTTP_CONTENT_ENCODING: (req.headers['content-encoding'] as string | undefined) ?? '',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    const cgi = spawn('git', ['http-backend'], { env });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    let status = 200;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const i = head.indexOf('\r\n\r\n');
      if (i < 0) return;
      headersDone = true;
      for (const line of head.subarray(0, i).toString().split('\r\n')) {
        const k = line.slice(0, line.indexOf(':'));
        const v = line.slice(line.indexOf(':') + 1).trim();
        if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10);
        else res.setHeader(k, v);
      }
      res.writeHead(status);
      res.write(head.subarray(i + 4));
    });
    cgi.stderr.on('data', () => undefined);
    cgi.on('close', () => {
      requests.push({ method: req.method ?? '', path: u.pathname, status });
      res.end();
    });
  };
  let server: http.Server = http.createServer(handler);
  const sockets = new Set<import('node:net').Socket>();
  const track = (s: http.Server): void => {
    s.on('connection', (c) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
    });
  };
  track(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  let up = true;
  const stop = async (): Promise<void> => {
    if (!up) return;
    up = false;
    for (const c of sockets) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return {
    root,
    port,
    url: (repo) => `http://127.0.0.1:${port}/${repo}`,
    requests,
    stop,
    async start() {
      if (up) return;
      server = http.createServer(handler);
      track(server);
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
      up = true;
    },
    async close() {
      await stop();
      if (!opts.root) rmSync(root, { recursive: true, force: true });
    },
  };
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};

export function gitCmd(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 }).trim();
}

export async function gitCmdAsync(cwd: string, args: string[]): Promise<string> {
  const r = await promisify(execFile)('git', args, { cwd, env: { ...GIT_ENV, GIT_TERMINAL_PROMPT: '0' }, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  return r.stdout.trim();
}

/** Creates `<root>/<name>` as a bare repository that accepts pushes. */
export function createBareRepo(root: string, name: string, branch = 'main'): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  gitCmd(dir, ['init', '--bare', '-q', `--initial-branch=${branch}`]);
  gitCmd(dir, ['config', 'http.receivepack', 'true']);
  return dir;
}

/** A working repository (native git) to make commits in; `push` sends them to `remote`. */
export class WorkRepo {
  readonly dir: string;
  constructor(dir?: string, branch = 'main') {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'gough-work-'));
    gitCmd(this.dir, ['init', '-q', `--initial-branch=${branch}`]);
  }
  write(files: Record<string, string>): this {
    for (const [p, content] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, p)), { recursive: true });
      writeFileSync(join(this.dir, p), content);
    }
    return this;
  }
  remove(path: string): this {
    gitCmd(this.dir, ['rm', '-q', path]);
    return this;
  }
  commit(message: string): string {
    gitCmd(this.dir, ['add', '-A']);
    gitCmd(this.dir, ['commit', '-q', '--allow-empty', '-m', message]);
    return gitCmd(this.dir, ['rev-parse', 'HEAD']);
  }
  /** Async: the server may run in this very process (a sync call would deadlock it). */
  async push(url: string, branch = 'main'): Promise<void> {
    await gitCmdAsync(this.dir, ['push', '-q', url, `HEAD:refs/heads/${branch}`]);
  }
  rmrf(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
