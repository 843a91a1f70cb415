/**
 * The admission webhook's I/O-free parts: image globs, ClusterImagePolicy parsing and
 * matching, the policy folder and its watcher, and AdmissionReview handling.
 * The HTTPS server, verification and caching build on these.
 */
export * from './glob';
export * from './cluster-image-policy';
export * from './policy-folder';
export * from './admission';
