// Which credentials are present (never their values), and whether the chosen roles need them.
import type { RoleDefinition } from '../../ports/index.js';
import type { Config } from '../../runtime/config/schema.js';
import type { CheckResult } from './check.js';

export function credentialChecks(config: Config, roles: readonly RoleDefinition[]): CheckResult[] {
  const usesAws = config.QUEUE_BACKEND === 'sqs' && roles.some((r) => r.needs.consumes || r.needs.sendsTo?.length || r.needs.tables?.length)
    || roles.some((r) => (r.needs.buckets?.length ?? 0) > 0 || (r.needs.mediaStorage && !config.WASABI_ENDPOINT));
  const env = process.env;
  const awsSource = config.AWS_ACCESS_KEY_ID ? 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY'
    : env.AWS_PROFILE ? `profile ${env.AWS_PROFILE}`
    : env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI ? 'ECS task role'
    : env.AWS_WEB_IDENTITY_TOKEN_FILE ? 'web identity token' : null;
  const out: CheckResult[] = [{
    name: 'AWS credentials',
    ok: true,
    required: usesAws,
    detail: awsSource ? `from ${awsSource}` : 'none in the environment; the SDK will try the instance role',
  }];
  if (config.WASABI_ENDPOINT) out.push({ name: 'Wasabi credentials', ok: Boolean(config.WASABI_KEY && config.WASABI_SECRET), required: true, detail: config.WASABI_KEY && config.WASABI_SECRET ? 'WASABI_KEY and WASABI_SECRET present' : 'WASABI_ENDPOINT is set but WASABI_KEY/WASABI_SECRET are not' });
  out.push({ name: 'Supabase key', ok: true, required: false, detail: config.SUPABASE_SERVICE_ROLE_KEY ? 'SUPABASE_SERVICE_ROLE_KEY present' : 'not set' });
  out.push({ name: 'Axiom', ok: true, required: false, detail: config.AXIOM_API_TOKEN ? `AXIOM_API_TOKEN present, dataset ${config.AXIOM_DATASET}` : 'not set: logs go to stdout only' });
  return out;
}
