/** Seeded randomness for fuzz tests, so a failing packet reproduces: the product's own generator. */
export { seededRandom } from '../../src/model/index.js';
