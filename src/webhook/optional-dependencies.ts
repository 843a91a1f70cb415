/**
 * Imported right after the Node.js check by the webhook entry (./index.ts): the webhook's
 * optional dependencies (`yaml` for policy files, `tar-stream` for TrustRoot repositories; see
 * ../util/optional-module.ts) must be installed. When one is not, loading `imgverify/webhook`
 * (and so the CLI's `webhook` and `policy test` commands) fails with DEPENDENCY_MISSING naming
 * the package to install, before a module deeper down meets a bare loader error.
 */
import { asDependencyMissing } from '../util/optional-module';

/* eslint-disable @typescript-eslint/no-require-imports -- static requires of the optional packages, see above */
try {
  require('yaml');
  require('tar-stream');
} catch (err) {
  throw asDependencyMissing(err);
}
/* eslint-enable @typescript-eslint/no-require-imports */
