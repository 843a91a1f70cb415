/**
 * The runtime self-test: on Node it passes; a runtime that cannot make a check (Deno's
 * `crypto.verify` without a digest, when nothing names it) or whose checks always pass is
 * refused with RUNTIME_UNSUPPORTED (usage, exit 2) naming the runtime and what failed, before
 * any verifier exists — never a verdict about an image.
 */
import * as explicitDigest from '../../../src/verify/explicit-digest';
import { runtimeName, selfTest } from '../../../src/verify/runtime-check';
import { emulateDenoVerify } from '../../support/deno-crypto';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object (see test/support/deno-crypto.ts)
const nodeCrypto = require('node:crypto') as typeof import('node:crypto');

test('passes on this Node.js', () => {
  expect(selfTest()).toBeUndefined();
});

test('passes on a runtime without a default digest (Deno) thanks to the digests imgverify names', () => {
  const deno = emulateDenoVerify();
  try {
    expect(selfTest()).toBeUndefined();
  } finally {
    deno.mockRestore();
  }
});

test('refuses that runtime when the digest is not named (the state before the fix): RUNTIME_UNSUPPORTED naming the runtime and the failed check', () => {
  const deno = emulateDenoVerify();
  const unnamed = jest.spyOn(explicitDigest, 'withExplicitDigests').mockImplementation((run) => run());
  try {
    const refusal = selfTest();
    expect(refusal).toMatchObject({ code: 'RUNTIME_UNSUPPORTED', category: 'usage' });
    expect(refusal?.message).toContain(`cannot verify signatures on ${runtimeName()}`);
    expect(refusal?.message).toMatch(/known good\) does not verify: TLOG_INCLUSION_PROMISE_INVALID/);
    expect(refusal?.message).toContain('Nothing was verified');
  } finally {
    unnamed.mockRestore();
    deno.mockRestore();
  }
});

test('refuses a runtime whose signature checks always pass', () => {
  const yes = jest.spyOn(nodeCrypto, 'verify').mockImplementation(() => true);
  try {
    const refusal = selfTest();
    expect(refusal?.code).toBe('RUNTIME_UNSUPPORTED');
    expect(refusal?.message).toContain('verifies with one bit changed');
    expect(refusal?.message).toContain('a changed Ed25519 signature verifies');
  } finally {
    yes.mockRestore();
  }
});

test('names Node.js, Bun and Deno', () => {
  const node = { ...process.versions, node: '22.22.2' };
  expect(runtimeName(node)).toBe('Node.js 22.22.2');
  expect(runtimeName({ ...node, bun: '1.3.0' })).toBe('Bun 1.3.0 (Node.js API 22.22.2)');
  expect(runtimeName({ ...node, deno: '2.5.0' })).toBe('Deno 2.5.0 (Node.js API 22.22.2)');
});

test('createVerifier refuses once the runtime failed (the self-test runs once per process)', () => {
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- fresh instances under jest.isolateModules
    const fresh = require('../../../src') as typeof import('../../../src');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the same fresh registry's crypto module
    const crypto = require('node:crypto') as typeof import('node:crypto');
    const yes = jest.spyOn(crypto, 'verify').mockImplementation(() => true);
    try {
      expect(() => fresh.createVerifier()).toThrow(expect.objectContaining({ code: 'RUNTIME_UNSUPPORTED' }));
    } finally {
      yes.mockRestore();
    }
    // Remembered: the same refusal, without running the test again.
    expect(() => fresh.createVerifier()).toThrow(expect.objectContaining({ code: 'RUNTIME_UNSUPPORTED' }));
  });
});
