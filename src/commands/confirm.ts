// Asking before a change an operator cannot undo: on a terminal, a y/N question; anywhere
// else nothing is asked, and nothing changes without --yes (a script never hangs on a prompt
// nobody sees, and never changes something because nobody said no).
import { createInterface } from 'node:readline/promises';
import { EXIT, UserError } from '../runtime/errors.js';

export interface Terminal {
  /** The answer typed; '' on end of input or Ctrl-C. */
  ask(question: string): Promise<string>;
}

/** The process's terminal: stdin and stderr (where the question goes; stdout stays for results) both TTYs; else null. */
export function processTerminal(): Terminal | null {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return null;
  return {
    async ask(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await new Promise<string>((resolve) => {
          rl.once('close', () => resolve(''));
          rl.once('SIGINT', () => rl.close()); // without a listener readline only pauses: the prompt would hang
          rl.question(question).then(resolve, () => resolve(''));
        });
      } finally {
        rl.close();
      }
    },
  };
}

export type Confirmation = 'yes' | 'declined' | 'no-terminal';

export async function confirm(question: string, opts: { yes: boolean; terminal: Terminal | null }): Promise<Confirmation> {
  if (opts.yes) return 'yes';
  if (opts.terminal === null) return 'no-terminal';
  const answer = (await opts.terminal.ask(`${question} [y/N] `)).trim().toLowerCase();
  return answer === 'y' || answer === 'yes' ? 'yes' : 'declined';
}

/** Nothing was confirmed: the refusal, one line, non-zero. `what` names the change not made. */
export function notConfirmed(confirmation: Exclude<Confirmation, 'yes'>, what: string): UserError {
  return confirmation === 'no-terminal'
    ? new UserError(`${what}: not done, no terminal to confirm on; pass --yes to do it without asking`, EXIT.FAILURE)
    : new UserError(`${what}: not done (not confirmed); nothing changed`, EXIT.FAILURE);
}
