/**
 * Tests run with a cache folder (XDG_CACHE_HOME) that holds nothing: the verifying commands
 * use a TUF cache of `imgverify initialize` when one exists under it, so a cache in the
 * machine's home folder must never change what a test verifies against. Tests that use a TUF
 * cache name their own (--tuf-cache, or XDG_CACHE_HOME in a child's environment).
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';

process.env.XDG_CACHE_HOME = join(tmpdir(), `imgverify-test-no-cache-${process.pid}`);
