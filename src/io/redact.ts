/**
 * Credentials never go into logs or outputs: URIs are recorded without user info and without the query
 * parameters that carry signatures or tokens (S3/GCS presigned URLs, Azure SAS). test/integration/secrets.test.ts
 * scans every output and log of a run for credential patterns.
 */
const SECRET_PARAMS = /^(x-amz-(signature|credential|security-token)|x-goog-(signature|credential)|signature|sig|se|sv|sp|st|spr|token|access_token|awsaccesskeyid|policy|key-pair-id)$/i;

export function redactUri(uri: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return uri;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return uri.replace(/\/\/[^/@]*@/, '//***@').replace(/\?.*$/, '?***');
  }
  if (u.username || u.password) {
    u.username = '***';
    u.password = '';
  }
  for (const k of [...u.searchParams.keys()]) if (SECRET_PARAMS.test(k)) u.searchParams.set(k, '***');
  return u.toString();
}
