/**
 * Kubernetes manifests of every pod-bearing kind, written as YAML text the way people write
 * them (block style, one field a line), for `imgverify policy test -f` and the audit tests.
 */

/** The kinds whose pod spec the webhook examines, with their apiVersion and where the pod spec is. */
export const POD_BEARING_KINDS = {
  Pod: { apiVersion: 'v1', depth: 0 },
  Deployment: { apiVersion: 'apps/v1', depth: 1 },
  StatefulSet: { apiVersion: 'apps/v1', depth: 1 },
  DaemonSet: { apiVersion: 'apps/v1', depth: 1 },
  ReplicaSet: { apiVersion: 'apps/v1', depth: 1 },
  Job: { apiVersion: 'batch/v1', depth: 1 },
  CronJob: { apiVersion: 'batch/v1', depth: 2 },
  ReplicationController: { apiVersion: 'v1', depth: 1 },
} as const;

export type PodBearingKind = keyof typeof POD_BEARING_KINDS;

export interface PodImages {
  readonly containers: readonly string[];
  readonly initContainers?: readonly string[];
  readonly ephemeralContainers?: readonly string[];
  /** Image volumes (`volumes[].image.reference`). */
  readonly volumes?: readonly string[];
  readonly imagePullSecrets?: readonly string[];
}

export interface ManifestOptions {
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** A manifest of `kind` as YAML text (no leading `---`). */
export function manifestYaml(kind: PodBearingKind, name: string, images: PodImages, options: ManifestOptions = {}): string {
  const { apiVersion } = POD_BEARING_KINDS[kind];
  const lines = [`apiVersion: ${apiVersion}`, `kind: ${kind}`, 'metadata:', `  name: ${name}`];
  if (options.namespace !== undefined) lines.push(`  namespace: ${options.namespace}`);
  if (options.labels) {
    lines.push('  labels:');
    for (const [k, v] of Object.entries(options.labels)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
  }
  const spec = podSpecYaml(images);
  const indent = (text: string[], by: number): string[] => text.map((l) => `${' '.repeat(by)}${l}`);
  switch (POD_BEARING_KINDS[kind].depth) {
    case 0:
      lines.push('spec:', ...indent(spec, 2));
      break;
    case 1:
      lines.push('spec:');
      if (kind !== 'Job') lines.push('  selector:', `    matchLabels: {app: ${name}}`);
      lines.push('  template:', '    metadata:', `      labels: {app: ${name}}`, '    spec:', ...indent(spec, 6));
      break;
    default:
      lines.push('spec:', '  schedule: "*/5 * * * *"', '  jobTemplate:', '    spec:', '      template:', '        spec:', ...indent(spec, 10));
  }
  return `${lines.join('\n')}\n`;
}

function podSpecYaml(images: PodImages): string[] {
  const out: string[] = [];
  const list = (field: string, refs: readonly string[] | undefined, prefix: string): void => {
    if (!refs || refs.length === 0) return;
    out.push(`${field}:`);
    refs.forEach((image, i) => out.push(`  - name: ${prefix}-${i}`, `    image: ${image}`));
  };
  list('initContainers', images.initContainers, 'init');
  list('containers', images.containers, 'app');
  list('ephemeralContainers', images.ephemeralContainers, 'debug');
  if (images.volumes && images.volumes.length > 0) {
    out.push('volumes:');
    images.volumes.forEach((image, i) => out.push(`  - name: vol-${i}`, '    image:', `      reference: ${image}`));
  }
  if (images.imagePullSecrets && images.imagePullSecrets.length > 0) {
    out.push('imagePullSecrets:', ...images.imagePullSecrets.map((n) => `  - name: ${n}`));
  }
  return out;
}

/** Documents joined into one stream. */
export function yamlStream(documents: readonly string[]): string {
  return documents.map((d) => `---\n${d}`).join('');
}

/** The 1-based line (and column of its key) where `needle` first occurs at or after line `from` (tests know their text). */
export function lineOf(text: string, needle: string, from = 1): { line: number; column: number } {
  const lines = text.split('\n');
  for (let i = from - 1; i < lines.length; i++) {
    const col = lines[i]!.indexOf(needle);
    if (col !== -1) return { line: i + 1, column: col + 1 };
  }
  throw new Error(`${needle} not found`);
}
