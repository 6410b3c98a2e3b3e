// Which TaskProtectionPort guards in-flight jobs against scale-in: inside an ECS task (the
// agent sets ECS_AGENT_URI in every container) the agent's endpoint; elsewhere none.
import { EcsTaskProtection } from '../adapters/ecs/task-protection.js';
import type { TaskProtectionPort } from '../runtime/in-flight.js';

export function scaleInProtection(env: Readonly<Record<string, string | undefined>>): TaskProtectionPort | undefined {
  const agentUri = env.ECS_AGENT_URI;
  return agentUri ? new EcsTaskProtection({ agentUri }) : undefined;
}
