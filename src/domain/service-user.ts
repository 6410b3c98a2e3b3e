// Who the systemd unit runs the worker as. `sudo rugbyworker install-service` means the user who
// ran sudo (the Jetson's account, which owns the .env and WORK_DIR); root only when asked for by
// name: a worker that parses uploaded media should not run as root by accident (a root shell,
// `sudo -i`, a provisioning script).

export interface Account {
  name: string;
  /** The uid when known (SUDO_UID, the process's own); a name other than root may still be uid 0. */
  uid?: number;
}

export type ServiceUser = { ok: true; user: string } | { ok: false; error: string };

/**
 * `explicit` is --user (taken as given, root included); else the sudo user, else the current
 * user; root that way is refused.
 */
export function serviceUser(o: { explicit?: string; sudo?: Account; current: Account }): ServiceUser {
  if (o.explicit !== undefined && o.explicit !== '') return { ok: true, user: o.explicit };
  const who = o.sudo && o.sudo.name !== '' ? o.sudo : o.current;
  if (who.name === 'root' || who.uid === 0) {
    return { ok: false, error: `install-service will not run the worker as root (${who.name}, uid 0): name its account with --user NAME (the one owning the .env and WORK_DIR), or --user root to insist` };
  }
  return { ok: true, user: who.name };
}
