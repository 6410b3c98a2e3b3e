// Exit codes follow sysexits(3) so systemd and ECS can tell "fix the config" from "crashed".
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  NOT_AVAILABLE: 2,
  USAGE: 64,
  CONFIG: 78,
} as const;

/** A problem the user must fix before anything starts; the message is one line. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'UserError';
  }
}

export class ConfigError extends UserError {
  constructor(message: string) {
    super(message, EXIT.CONFIG);
    this.name = 'ConfigError';
  }
}

export class UsageError extends UserError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
    this.name = 'UsageError';
  }
}
