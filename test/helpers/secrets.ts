/** Patterns of credentials and signed-URL parts that must never appear in logs or outputs. */
export const SECRET_PATTERNS: { name: string; re: RegExp }[] = [
  { name: 'AWS access key id', re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: 'AWS secret access key (assignment)', re: /aws_?secret_?access_?key["'\s:=]+[A-Za-z0-9/+=]{40}/i },
  { name: 'S3/GCS presigned URL signature', re: /X-(Amz|Goog)-(Signature|Credential|Security-Token)=[^&\s"'*]/i },
  { name: 'Azure SAS signature', re: /[?&]sig=[A-Za-z0-9%/+=]{10,}/ },
  { name: 'URL with a password', re: /[a-z][a-z0-9+.-]*:\/\/[^/\s:@"']+:[^/\s@"']+@/i },
  { name: 'bearer token', re: /Bearer\s+[A-Za-z0-9._~+/-]{20,}/ },
];

/** Every secret pattern and planted value found in `text` (empty when clean). */
export function findSecrets(text: string, planted: string[] = []): string[] {
  const hits = SECRET_PATTERNS.filter((p) => p.re.test(text)).map((p) => p.name);
  for (const v of planted) if (text.includes(v)) hits.push(`planted value ${v.slice(0, 6)}...`);
  return hits;
}
