/**
 * The admission webhook: image globs, ClusterImagePolicy parsing and matching, the policy
 * folder and its watcher, AdmissionReview handling (all without I/O), policy evaluation
 * with its cache, metrics, and the HTTPS server.
 */
export * from './glob';
export * from './cluster-image-policy';
export * from './policy-folder';
export * from './admission';
export * from './cache';
export * from './metrics';
export * from './evaluate';
export * from './verification';
export * from './server';
