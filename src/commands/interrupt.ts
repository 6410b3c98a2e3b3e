// Ctrl-C or SIGTERM during a local command (transcode FILE, stereo FILE). While the roles
// run, the lifecycle handles the signal and exits the process itself, with 0 after a clean
// stop: the trap records the signal, runs the command's clean-up at that exit, and makes
// the exit code say the run was interrupted.
export const EXIT_ON_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;
export type Stop = keyof typeof EXIT_ON_SIGNAL;

export interface InterruptTrap {
  /** Aborts at the first signal. */
  readonly signal: AbortSignal;
  signalled(): Stop | null;
  /** Removes the handlers: the command is over. */
  release(): void;
}

/** `atExit` runs if the process exits while the trap is set, signalled or not. */
export function trapInterrupt(atExit: (signalled: Stop | null) => void): InterruptTrap {
  const interrupt = new AbortController();
  let signalled: Stop | null = null;
  const on = (sig: Stop) => (): void => {
    signalled ??= sig;
    interrupt.abort(new Error(`interrupted (${sig})`));
  };
  const onSigint = on('SIGINT');
  const onSigterm = on('SIGTERM');
  const onExit = (): void => {
    atExit(signalled);
    if (signalled) process.exitCode = EXIT_ON_SIGNAL[signalled];
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  process.on('exit', onExit);
  return {
    signal: interrupt.signal,
    signalled: () => signalled,
    release() {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      process.off('exit', onExit);
    },
  };
}
