// Fulcio's GitHub Actions certificate contents: the SAN URI and the 1.3.6.1.4.1.57264.1.x
// extensions it derives from a GitHub OIDC token
// (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
import * as der from './der';
import type { Identity } from './fulcio';
import type { Extension } from './x509';

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

export interface GithubWorkflowClaims {
  /** "owner/repo" */
  repository: string;
  /** Workflow file path in the repository, e.g. ".github/workflows/release.yml". */
  workflowPath: string;
  /** Git ref that ran, e.g. "refs/heads/main" or "refs/tags/v1.0.0". */
  ref?: string;
  /** Commit SHA (hex). */
  sha?: string;
  eventName?: string;
  workflowName?: string;
  repositoryId?: string;
  repositoryOwnerId?: string;
  runId?: string;
  runAttempt?: string;
  runnerEnvironment?: string;
  visibility?: string;
  /** For reusable workflows: "owner/repo/.github/workflows/x.yml@ref"; defaults to the caller's workflow. */
  jobWorkflowRef?: string;
}

export interface GithubCertificateContents {
  identity: Identity;
  issuer: string;
  extensions: Extension[];
}

const SIGSTORE_ARC = '1.3.6.1.4.1.57264.1';

/** The SAN, issuer and extensions Fulcio writes for a GitHub Actions workflow token. */
export function githubWorkflowCertificate(claims: GithubWorkflowClaims): GithubCertificateContents {
  const ref = claims.ref ?? 'refs/heads/main';
  const sha = claims.sha ?? 'a'.repeat(40);
  const eventName = claims.eventName ?? 'push';
  const owner = claims.repository.split('/')[0];
  const workflowRef = `${claims.repository}/${claims.workflowPath}@${ref}`;
  const jobWorkflowRef = claims.jobWorkflowRef ?? workflowRef;
  const github = 'https://github.com';

  // Deprecated (1.2-1.6): raw strings. Current (1.9-1.22): DER UTF8String.
  const raw = (arc: number, value: string): Extension => ({ oid: `${SIGSTORE_ARC}.${arc}`, value: Buffer.from(value, 'utf8') });
  const utf8 = (arc: number, value: string): Extension => ({ oid: `${SIGSTORE_ARC}.${arc}`, value: der.utf8String(value) });

  const extensions: Extension[] = [
    raw(2, eventName),
    raw(3, sha),
    raw(4, claims.workflowName ?? 'release'),
    raw(5, claims.repository),
    raw(6, ref),
    utf8(9, `${github}/${jobWorkflowRef}`),
    utf8(10, sha),
    utf8(11, claims.runnerEnvironment ?? 'github-hosted'),
    utf8(12, `${github}/${claims.repository}`),
    utf8(13, sha),
    utf8(14, ref),
    utf8(15, claims.repositoryId ?? '123456789'),
    utf8(16, `${github}/${owner}`),
    utf8(17, claims.repositoryOwnerId ?? '987654321'),
    utf8(18, `${github}/${workflowRef}`),
    utf8(19, sha),
    utf8(20, eventName),
    utf8(21, `${github}/${claims.repository}/actions/runs/${claims.runId ?? '1000'}/attempts/${claims.runAttempt ?? '1'}`),
    utf8(22, claims.visibility ?? 'public'),
  ];
  return { identity: { uri: `${github}/${jobWorkflowRef}` }, issuer: GITHUB_ACTIONS_ISSUER, extensions };
}
