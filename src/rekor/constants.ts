/** The public-good Rekor (v1 REST API): where verify-blob looks entries up by default. */
export const PUBLIC_GOOD_REKOR_URL = 'https://rekor.sigstore.dev';
