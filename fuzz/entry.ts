/**
 * The module Jazzer.js loads (`npm run fuzz` passes it): the target named by
 * IMGVERIFY_FUZZ_TARGET, as the `fuzz` function Jazzer.js calls with each input.
 */
import { findTarget } from './targets';

const name = process.env.IMGVERIFY_FUZZ_TARGET ?? '';
const target = findTarget(name);
if (!target) throw new Error(`unknown fuzz target "${name}"`);

export const fuzz = (data: Buffer): void => target.fuzz(data);
