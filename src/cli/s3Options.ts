import { usageError } from '../errors.js';
import { configureS3, scrubSecrets } from '../io/s3/client.js';

/** Options every command that reads or writes files accepts for s3:// locations (docs/s3.md). */
export const S3_OPTIONS = {
  's3-endpoint': { type: 'string' },
  's3-region': { type: 'string' },
  's3-path-style': { type: 'boolean' },
} as const;

export const S3_HELP = `object storage (any --input/--output/--truth may be s3://bucket/prefix; docs/s3.md)
  --s3-endpoint URL     S3-compatible endpoint (default $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL, else AWS)
  --s3-region R         region (default $AWS_REGION / $AWS_DEFAULT_REGION / the AWS profile)
  --s3-path-style       path-style addressing (default: on with a custom endpoint)
  credentials: the standard AWS chain only (environment, AWS_PROFILE and ~/.aws, SSO, instance role)
`;

/** Applies --s3-* options to this process's S3 settings (the SDK itself loads only for s3:// locations). */
export function applyS3Options(cmd: string, v: { 's3-endpoint'?: string; 's3-region'?: string; 's3-path-style'?: boolean }): void {
  const endpoint = v['s3-endpoint'];
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) throw usageError(`${cmd}: --s3-endpoint must be an http:// or https:// URL, got '${scrubSecrets(endpoint)}'`);
  const region = v['s3-region'];
  if (region !== undefined && !/^[a-z0-9-]+$/.test(region)) throw usageError(`${cmd}: --s3-region must look like eu-west-1, got '${region}'`);
  configureS3({
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(v['s3-path-style'] ? { pathStyle: true } : {}),
  });
}
