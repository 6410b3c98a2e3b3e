// The systemd unit's system-call sandbox without systemd: its SystemCallFilter= (expanded by
// `systemd-analyze syscall-filter`), SystemCallErrorNumber= and RestrictAddressFamilies= become
// a seccomp filter in a small C program (compiled here with cc) that sets no_new_privs, loads
// the filter and execs the command, as systemd does before ExecStart. As root, setpriv also
// empties the capability bounding set (CapabilityBoundingSet=).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why the sandbox cannot be built here, or undefined when it can. */
export function sandboxMissing(): string | undefined {
  for (const [cmd, args] of [['systemd-analyze', ['--version']], ['cc', ['--version']], ['setpriv', ['--version']]] as const) {
    const r = spawnSync(cmd, [...args], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return `${cmd} is not usable: ${r.error?.message ?? r.stderr.trim()}`;
  }
  return undefined;
}

/** Every group's direct members, from `systemd-analyze syscall-filter`. */
function syscallGroups(): Map<string, string[]> {
  const r = spawnSync('systemd-analyze', ['syscall-filter', '--no-pager'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`systemd-analyze syscall-filter: ${r.stderr}`);
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of r.stdout.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('@') && !raw.startsWith(' ')) groups.set(line, current = []);
    else if (current && line !== '' && !line.startsWith('#')) current.push(line);
  }
  return groups;
}

/** The unit's directives `key=`, in order. */
const values = (unit: string, key: string) => unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1).trim());

/** The system calls a unit allows (systemd's order: the first allow list, then ~ removes, later lists add). */
export function allowedSyscalls(unit: string): string[] {
  const groups = syscallGroups();
  const expand = (name: string): string[] => (name.startsWith('@') ? (groups.get(name) ?? []).flatMap(expand) : [name]);
  const allowed = new Set<string>();
  if (values(unit, 'SystemCallFilter')[0]?.startsWith('~')) throw new Error('a unit whose first SystemCallFilter= is a deny list is not supported here');
  for (const v of values(unit, 'SystemCallFilter')) {
    const deny = v.startsWith('~');
    for (const name of (deny ? v.slice(1) : v).split(/\s+/).filter(Boolean).flatMap(expand)) {
      if (deny) allowed.delete(name);
      else allowed.add(name);
    }
  }
  return [...allowed].sort();
}

/** The C source; null lists leave system calls or address families unrestricted. */
function program(syscalls: string[] | null, families: string[] | null, errno: string): string {
  const ifdef = (nr: string) => `#ifdef ${nr}\n  ${nr},\n#endif`;
  return `#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif
#define FILTER_SYSCALLS ${syscalls ? 1 : 0}
#define FILTER_FAMILIES ${families ? 1 : 0}
static const unsigned int allowed[] = {
${(syscalls ?? []).map((s) => ifdef(`__NR_${s}`)).join('\n')}
  0
};
static const unsigned int families[] = { ${(families ?? ['0']).join(', ')} };
static struct sock_filter f[4096];
static unsigned short n;
static void add(unsigned short code, unsigned int k, unsigned char jt, unsigned char jf) {
  f[n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}
int main(int argc, char **argv) {
  const unsigned int nfam = sizeof families / sizeof *families;
  if (argc < 2) return 64;
  add(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
  add(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0);
  add(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
  add(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
  /* socket(): the allowed address families only, EAFNOSUPPORT for the others. */
  if (FILTER_FAMILIES) {
  add(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 2 * nfam + 2);
  add(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]), 0, 0);
  for (unsigned int i = 0; i < nfam; i++) {
    add(BPF_JMP | BPF_JEQ | BPF_K, families[i], 0, 1);
    add(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
  }
  add(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT, 0, 0);
  }
  if (!FILTER_SYSCALLS) add(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
  for (unsigned int i = 0; i + 1 < sizeof allowed / sizeof *allowed; i++) {
    add(BPF_JMP | BPF_JEQ | BPF_K, allowed[i], 0, 1);
    add(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
  }
  add(BPF_RET | BPF_K, ${errno ? `SECCOMP_RET_ERRNO | ${errno}` : 'SECCOMP_RET_KILL_PROCESS'}, 0, 0);
  struct sock_fprog prog = { n, f };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("sandbox");
    return 70;
  }
  execvp(argv[1], argv + 1);
  perror(argv[1]);
  return 127;
}
`;
}

/** The command words that run a program inside the unit's sandbox. */
export function unitSandbox(unit: string): string[] {
  const errno = values(unit, 'SystemCallErrorNumber').at(-1) ?? '';
  if (errno !== '' && !/^E[A-Z0-9]+$/.test(errno)) throw new Error(`SystemCallErrorNumber=${errno}`);
  const families = values(unit, 'RestrictAddressFamilies').flatMap((v) => v.split(/\s+/));
  if (families.some((f) => !/^AF_[A-Z0-9]+$/.test(f))) throw new Error(`RestrictAddressFamilies=${families.join(' ')}`);
  const filtered = values(unit, 'SystemCallFilter').length > 0;
  const dir = mkdtempSync(join(tmpdir(), 'rw-sandbox-'));
  writeFileSync(join(dir, 'sandbox.c'), program(filtered ? allowedSyscalls(unit) : null, families.length > 0 ? families : null, errno));
  const cc = spawnSync('cc', ['-O', '-o', join(dir, 'sandbox'), join(dir, 'sandbox.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc sandbox.c: ${cc.stderr}`);
  const root = process.getuid?.() === 0;
  return [...(root ? ['setpriv', '--bounding-set=-all', '--inh-caps=-all', '--'] : []), join(dir, 'sandbox')];
}
