import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { configKeys } from '../../src/config.js';

describe('README', () => {
  const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');

  it('opens with the two set-up commands', () => {
    const blocks = [...readme.matchAll(/```sh\n([^`]*)```/g)].map((m) => m[1].trim());
    expect(blocks.slice(0, 2)).to.deep.equal(['npm ci && npm start', 'npm ci && npm test']);
  });

  it('documents every configuration key with its default', () => {
    for (const [key, def] of Object.entries(configKeys)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${key}\``));
      expect(row, key).to.be.a('string');
      if (def.default !== undefined) expect(row).to.include(`\`${def.default}\``);
    }
  });
});
