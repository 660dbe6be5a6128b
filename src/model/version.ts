/** Gough's version (package.json's; a test keeps them equal). Keys on-disk caches whose contents depend on the code. */
export const GOUGH_VERSION = '0.1.0';
