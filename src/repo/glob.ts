/**
 * Glob patterns of `RepoConfig.spec.ignore`: `*` (within a folder), `**` (any folders), `?` (one character).
 * A pattern without `/` matches the file name in any folder; one with `/` matches the whole path from the root.
 */
export function globToRegExp(pattern: string): RegExp {
  const anchored = pattern.includes('/');
  let p = pattern.replace(/^\/+/, '');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        if (p[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  p = re;
  return new RegExp(anchored ? `^${p}$` : `(?:^|/)${p}$`);
}

export function matchesAnyGlob(path: string, globs: readonly RegExp[]): boolean {
  return globs.some((g) => g.test(path));
}
