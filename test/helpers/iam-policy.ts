// An identity policy as IAM evaluates it for our tests: Allow statements of actions on
// resource ARNs, `*` and `?` wildcards in both (actions compared without case, as IAM does;
// resources with case). Anything no statement allows is denied (IAM's implicit deny). No
// Deny statements and no conditions: no task role of upstream's Terraform has any.

export interface PolicyStatement {
  /** e.g. 's3:GetObject', 'dynamodb:*'. */
  readonly actions: readonly string[];
  /** ARNs, e.g. 'arn:aws:s3:::bucket/*'. */
  readonly resources: readonly string[];
}

export type Policy = readonly PolicyStatement[];

/** The account and region every ARN of the local world is in. */
export interface ArnScope {
  readonly account: string;
  readonly region: string;
}

export const TEST_SCOPE: ArnScope = { account: '123456789012', region: 'us-east-1' };

export const arn = {
  bucket: (name: string): string => `arn:aws:s3:::${name}`,
  object: (bucket: string, key: string): string => `arn:aws:s3:::${bucket}/${key}`,
  table: (s: ArnScope, name: string): string => `arn:aws:dynamodb:${s.region}:${s.account}:table/${name}`,
  index: (s: ArnScope, table: string, index: string): string => `arn:aws:dynamodb:${s.region}:${s.account}:table/${table}/index/${index}`,
  queue: (s: ArnScope, name: string): string => `arn:aws:sqs:${s.region}:${s.account}:${name}`,
  endpoint: (s: ArnScope, name: string): string => `arn:aws:sagemaker:${s.region}:${s.account}:endpoint/${name.toLowerCase()}`,
};

function glob(pattern: string, flags = ''): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${body}$`, flags);
}

/** Whether some statement allows `action` on `resource`. */
export function allows(policy: Policy, action: string, resource: string): boolean {
  return policy.some((s) => s.actions.some((a) => glob(a, 'i').test(action)) && s.resources.some((r) => glob(r).test(resource)));
}
