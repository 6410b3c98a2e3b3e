// The ECS container agent's task scale-in protection endpoint (the agent injects
// ECS_AGENT_URI into every container of an ECS task):
//   PUT ${ECS_AGENT_URI}/task-protection/v1/state  {"ProtectionEnabled":true,"ExpiresInMinutes":N}
//   PUT ${ECS_AGENT_URI}/task-protection/v1/state  {"ProtectionEnabled":false}
//   GET ${ECS_AGENT_URI}/task-protection/v1/state
// Success answers {"protection":{"ExpirationDate","ProtectionEnabled","TaskArn"}}; the
// agent reports trouble as {"failure":{"Arn","Detail","Reason"}} (e.g. TASK_NOT_VALID for a
// task outside a service) or {"error":{"Arn","Code","Message"}} (e.g. AccessDeniedException),
// possibly with a 200 status, so the body decides, not only the status.
import type { TaskProtectionPort } from '../../runtime/in-flight.js';

export const TASK_PROTECTION_PATH = '/task-protection/v1/state';

export interface TaskProtectionState {
  ProtectionEnabled: boolean;
  ExpirationDate?: string | null;
  TaskArn?: string;
}

interface AgentBody {
  protection?: TaskProtectionState;
  failure?: { Arn?: string; Detail?: string | null; Reason?: string };
  error?: { Arn?: string; Code?: string; Message?: string };
  requestID?: string;
}

export class TaskProtectionError extends Error {
  constructor(message: string, readonly status: number, readonly code?: string) {
    super(message);
    this.name = 'TaskProtectionError';
  }
}

export interface EcsTaskProtectionOptions {
  /** ECS_AGENT_URI as the agent set it. */
  agentUri: string;
  /** Per request (default 5000 ms): a hung agent must not hold a shutdown. */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

export class EcsTaskProtection implements TaskProtectionPort {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof globalThis.fetch;

  constructor(opts: EcsTaskProtectionOptions) {
    this.#url = opts.agentUri.replace(/\/+$/, '') + TASK_PROTECTION_PATH;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#fetch = opts.fetch ?? globalThis.fetch;
  }

  async protect(expiresInMinutes: number): Promise<void> {
    await this.#call('PUT', { ProtectionEnabled: true, ExpiresInMinutes: expiresInMinutes });
  }

  async unprotect(): Promise<void> {
    await this.#call('PUT', { ProtectionEnabled: false });
  }

  async state(): Promise<TaskProtectionState> {
    return this.#call('GET');
  }

  async #call(method: 'GET' | 'PUT', body?: object): Promise<TaskProtectionState> {
    const what = `${method} ${TASK_PROTECTION_PATH}`;
    let res: Response;
    try {
      res = await this.#fetch(this.#url, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new TaskProtectionError(`${what}: agent unreachable (${err instanceof Error ? err.message : String(err)})`, 0);
    }
    const text = await res.text().catch(() => '');
    let parsed: AgentBody | undefined;
    try {
      parsed = text ? (JSON.parse(text) as AgentBody) : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed?.error) {
      const e = parsed.error;
      throw new TaskProtectionError(`${what}: ${e.Code ?? 'error'}: ${e.Message ?? 'no message'}`, res.status, e.Code);
    }
    if (parsed?.failure) {
      const f = parsed.failure;
      throw new TaskProtectionError(`${what}: failure ${f.Reason ?? 'unknown'}${f.Detail ? ` (${f.Detail})` : ''}`, res.status, f.Reason);
    }
    if (!res.ok) throw new TaskProtectionError(`${what}: HTTP ${res.status} ${text.slice(0, 200)}`, res.status);
    if (!parsed?.protection) throw new TaskProtectionError(`${what}: unexpected answer ${text.slice(0, 200)}`, res.status);
    return parsed.protection;
  }
}
