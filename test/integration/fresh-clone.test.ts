/**
 * The main job on a fresh clone, as a new user runs it: `git clone` the project alone into an
 * empty temp folder (so there is no ../shared beside it), then the README's first command
 * (`scripts/install-system-deps.sh && npm ci && npm run demo`), in a shell whose environment is
 * cleaned of what `npm test` adds (npm_* variables, this checkout's node_modules/.bin on PATH),
 * so the clone uses only its own files and the system's Node and npm, as a user's would.
 * `npm ci` installs from the npm registry (fast from npm's cache). The command must also clean
 * up after itself: no process it started outlives it (it runs in its own process group), and
 * the demo's registry leaves no folder behind in TMPDIR (pointed into the temp folder).
 *
 * It clones the committed HEAD: uncommitted changes are not in it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const TIMEOUT_MS = 15 * 60_000;

function git(args: string[], cwd = ROOT): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function headCommit(): string | undefined {
  try {
    return git(['rev-parse', '--verify', 'HEAD']);
  } catch {
    return undefined;
  }
}

/** The first command of the README's first `sh` block (the one under "The two commands"). */
function readmeFirstCommand(readme: string): string {
  const block = /```sh\n([\s\S]*?)```/.exec(readme);
  const line = block?.[1]!.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (!line) throw new Error('README.md: no command in its first ```sh block');
  return line.trim();
}

/** A user's environment: this process's, without what npm and jest added for `npm test`. */
function userEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(name) || ['INIT_CWD', 'NODE', 'NODE_ENV', 'NODE_OPTIONS', 'JEST_WORKER_ID'].includes(name)) continue;
    env[name] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && dir !== ROOT && !dir.startsWith(ROOT + sep) && !dir.includes(`${sep}node-gyp-bin`))
    .join(delimiter);
  return env;
}

interface ShellResult {
  code: number | null;
  output: string;
  /** Processes of its group still running after it exited (then killed). */
  leftovers: string;
}

/** The processes of a process group, as `ps` lists them ('' when there are none). */
function processGroupMembers(pgid: number): string {
  const ps = execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((line) => line.trim().split(/\s+/)[1] === String(pgid))
    .join('\n');
}

function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<ShellResult> {
  return new Promise((resolvePromise, reject) => {
    // Its own process group, so that a timeout ends everything it started.
    const child = spawn('bash', ['-c', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n[fresh-clone test: killed after ${TIMEOUT_MS / 1000} s]\n`;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, TIMEOUT_MS - 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const pgid = child.pid!;
      const leftovers = processGroupMembers(pgid);
      if (leftovers !== '') {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      resolvePromise({ code, output, leftovers });
    });
  });
}

const head = headCommit();
// CI runs the suite a second time on Node 24; the README's command runs with the system's Node
// either way, so that run skips this (IMGVERIFY_SKIP_FRESH_CLONE=1, set by .ci/run).
const skipRequested = process.env.IMGVERIFY_SKIP_FRESH_CLONE === '1';
const describeInGit = head && !skipRequested ? describe : describe.skip;
if (!head) {
  // eslint-disable-next-line no-console -- a visible skip
  console.warn(`SKIPPED fresh-clone test: ${ROOT} is not a git checkout, there is nothing to clone`);
} else if (skipRequested) {
  // eslint-disable-next-line no-console -- a visible skip
  console.warn('SKIPPED fresh-clone test: IMGVERIFY_SKIP_FRESH_CLONE=1 (it ran in the first CI pass)');
}

describeInGit("a fresh clone runs the README's first command", () => {
  let temp: string | undefined;
  afterAll(() => {
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  test(
    'exits 0 and shows the Kubernetes release signature VERIFIED, with no ../shared beside it',
    async () => {
      if (git(['status', '--porcelain', '--untracked-files=no']) !== '') {
        // eslint-disable-next-line no-console -- what the command printed, for the record
        console.warn('fresh-clone test: the checkout has uncommitted changes; they are not in the clone (it tests HEAD)');
      }
      temp = mkdtempSync(join(tmpdir(), 'imgverify-fresh-clone-'));
      const clone = join(temp, 'imgverify');
      git(['clone', '--quiet', '--no-checkout', ROOT, clone], temp);
      git(['checkout', '--quiet', '--detach', head!], clone);
      expect(git(['rev-parse', 'HEAD'], clone)).toBe(head);
      expect(existsSync(join(dirname(clone), 'shared'))).toBe(false);
      expect(existsSync(join(clone, 'node_modules'))).toBe(false);

      const command = readmeFirstCommand(readFileSync(join(clone, 'README.md'), 'utf8'));
      expect(command).toBe('scripts/install-system-deps.sh && npm ci && npm run demo');

      const tmp = join(temp, 'tmp');
      mkdirSync(tmp);
      const { code, output, leftovers } = await runShell(command, clone, { ...userEnvironment(), TMPDIR: tmp });
      const shown = `\n--- output of \`${command}\` in a fresh clone ---\n${output.slice(-20_000)}`;
      expect({ code, output: shown }).toEqual({
        code: 0,
        output: expect.stringMatching(
          /^VERIFIED {2}127\.0\.0\.1:\d+\/cluster-api\/cluster-api-controller@sha256:f34016d3a494f9544a16137c9bba49d8756c574a0a1baf96257903409ef82f77 {2}signed by krel-trust@k8s-releng-prod\.iam\.gserviceaccount\.com \(issuer https:\/\/accounts\.google\.com\)/m,
        ),
      });
      expect(output).toMatch(/^FAILED .*\[IDENTITY_MISMATCH\]$/m);
      expect(output).not.toMatch(/shared\/interop/);
      expect(leftovers).toBe('');
      expect(readdirSync(tmp).filter((name) => name.startsWith('imgverify-registry-'))).toEqual([]);
    },
    TIMEOUT_MS,
  );
});
