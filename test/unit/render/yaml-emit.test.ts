import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { emitYaml } from '../../../src/render/index.js';

/** Scalars that trip YAML emitters: bool/null words of YAML 1.1 and 1.2, numbers, indicators, odd whitespace. */
const TRICKY = [
  'yes', 'No', 'on', 'OFF', 'y', 'n', 'true', 'False', 'null', '~', '', ' ', '0644', '1e3', '0x1F', '1:20', '.inf', '-.5',
  '- item', '-c', '--token', 'a: b', 'a:b', 'key:', '# not a comment', 'a #b', '&anchor', '*alias', '!tag', '|', '>',
  '@at', '`tick', '"dq"', "'sq'", '[a]', '{a: 1}', '%directive', '=', '<<', 'x\ny', 'x\n', '\nx', '  indented\nx', 'a\n\n',
  'trailing \n', 'tab\tin', '\tlead', 'cr\r\nlf', 'nul\u0000', 'del\u007f', 'nel\u0085', 'ls\u2028ps\u2029', 'bom\ufeff',
  'emoji 🚀', 'ü', 'http://10.250.0.1:8081/x', 'C:\\path', '2001-01-01', '12:30:00',
];

const scalar = fc.oneof(
  fc.constantFrom(...TRICKY),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const doc = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, scalar, tie('map'), tie('seq')),
  map: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(...TRICKY)), tie('node'), { maxKeys: 5 }),
  seq: fc.array(tie('node'), { maxLength: 5 }),
})).map;

describe('emitYaml', () => {
  it.each(TRICKY)('round-trips %j in YAML 1.2 and 1.1', (s) => {
    const data = { k: s, list: [s, [s]], [s]: 1 };
    expect(parse(emitYaml(data))).toEqual(data);
    expect(parse(emitYaml(data), { version: '1.1' })).toEqual(data);
  });

  it('round-trips random documents in YAML 1.2 and 1.1', () => {
    fc.assert(
      fc.property(doc, (d) => {
        const text = emitYaml(d);
        expect(parse(text)).toEqual(d);
        expect(parse(text, { version: '1.1' })).toEqual(d);
      }),
      { numRuns: 400 },
    );
  });

  it('writes readable block YAML', () => {
    expect(
      emitYaml({ packages: ['a', 'b'], write_files: [{ path: '/etc/x', content: 'l1\nl2\n' }], runcmd: [['sh', '-c', 'echo "hi"']], e: [], m: {} }),
    ).toBe(
      [
        'packages:',
        '  - a',
        '  - b',
        'write_files:',
        '  - path: /etc/x',
        '    content: |',
        '      l1',
        '      l2',
        'runcmd:',
        '  - - sh',
        '    - -c',
        `    - 'echo "hi"'`,
        'e: []',
        'm: {}',
        '',
      ].join('\n'),
    );
  });
});
