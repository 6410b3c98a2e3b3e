// The systemd unit template `rugbyworker@.service`, one for every role (`%i` is the
// instance: a role name or `all`). The only source of the unit text: deploy/systemd's
// file is systemdUnit(DEFAULT_UNIT) (a test fails when they differ) and
// `rugbyworker install-service` writes systemdUnit() for its binary, .env and hardware.

export const UNIT_FILE_NAME = 'rugbyworker@.service';

/** Which device nodes the unit lets the worker open: none, or those hardware decode/encode needs. */
export const UNIT_DEVICES = ['none', 'jetson', 'nvidia'] as const;
export type UnitDevices = (typeof UNIT_DEVICES)[number];

/** The groups that own NVIDIA's device nodes (Jetson: video; JetPack 6's /dev/dri/renderD*: render). */
export const DEVICE_GROUPS = ['video', 'render'] as const;

export interface UnitOptions {
  /** Absolute path of the executable (ExecStart). */
  execPath: string;
  /** Absolute path of the .env (EnvironmentFile). */
  envFile: string;
  /** User= the worker runs as. */
  user: string;
  /** WORK_DIR, made writable under ProtectSystem=strict. */
  workDir: string;
  /** SHUTDOWN_GRACE_SECONDS: the stop timeout leaves the worker at least 5 s more. */
  shutdownGraceSeconds: number;
  /** none: PrivateDevices; jetson or nvidia: only that hardware's nodes (DevicePolicy=closed). */
  devices: UnitDevices;
  /** SupplementaryGroups= with hardware devices: those of DEVICE_GROUPS the machine has. */
  groups: readonly string[];
}

/** What deploy/systemd/rugbyworker@.service is made with: RugbyCodex's Jetson, the schema's defaults. */
export const DEFAULT_UNIT: UnitOptions = {
  execPath: '/usr/local/bin/rugbyworker',
  envFile: '/home/scribe/rugbycodex/jetson_scripts/.env',
  user: 'scribe',
  workDir: '/tmp/rugbyworker',
  shutdownGraceSeconds: 25,
  devices: 'jetson',
  groups: DEVICE_GROUPS,
};

/** The devices a unit for this machine needs, from what hardware decode detection finds. */
export function unitDevicesFor(platform: { jetson: boolean; hasGpu: boolean }): UnitDevices {
  if (platform.jetson) return 'jetson';
  return platform.hasGpu ? 'nvidia' : 'none';
}

// Paths and names written into the unit as they are: no quoting, escaping or specifiers needed.
const SAFE_PATH = /^\/[A-Za-z0-9._/@+-]*$/;
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Why a value cannot go into the unit as written, or undefined when it can. */
export function unsafeUnitValue(o: UnitOptions): string | undefined {
  for (const [what, p] of [['executable path', o.execPath], ['.env path', o.envFile], ['WORK_DIR', o.workDir]] as const) {
    if (!SAFE_PATH.test(p) || p.split('/').some((s) => s === '..' || s === '.')) return `${what} ${JSON.stringify(p)} must be an absolute path of letters, digits and . _ / @ + - only`;
  }
  if (!SAFE_NAME.test(o.user)) return `user ${JSON.stringify(o.user)} is not a plain user name`;
  const group = o.groups.find((g) => !SAFE_NAME.test(g));
  if (group !== undefined) return `group ${JSON.stringify(group)} is not a plain group name`;
  if (!UNIT_DEVICES.includes(o.devices)) return `devices ${JSON.stringify(o.devices)} is not one of ${UNIT_DEVICES.join(', ')}`;
  if (!Number.isInteger(o.shutdownGraceSeconds) || o.shutdownGraceSeconds < 1) return `SHUTDOWN_GRACE_SECONDS ${o.shutdownGraceSeconds} is not a whole number ≥ 1`;
  return undefined;
}

/** TimeoutStopSec: SHUTDOWN_GRACE_SECONDS + 5 at least, and never below 60 s (time to hand messages back and exit). */
export function stopTimeoutSeconds(graceSeconds: number): number {
  return Math.max(60, graceSeconds + 5);
}

/**
 * The device nodes of each hardware, as DeviceAllow= entries. `char-NAME` is every node of the
 * driver that /proc/devices names NAME (a glob; resolved when the unit starts), a path is that
 * one node (skipped when absent). What a JetPack release does not have matches nothing.
 */
const DEVICE_ALLOW: Record<Exclude<UnitDevices, 'none'>, { why: string; allow: string[] }> = {
  jetson: {
    why: `# The Jetson's decoder and encoder (h264_nvv4l2dec/enc, nvmpi): NVDEC, NVENC and VIC are
# host1x clients (/dev/nvhost-*, JetPack 5) or reached through /dev/dri and /dev/host1x-fence
# (JetPack 6, where /dev/v4l2-nvdec is only a hook); buffers come from /dev/nvmap; the GPU's
# nodes are named after its platform device (17000000.ga10b, 57000000.gpu, …).`,
    allow: [
      'char-nvhost*', 'char-host1x*', 'char-drm', 'char-nvidia*',
      'char-*.gpu', 'char-*.ga10b', 'char-*.gv11b', 'char-*.gp10b',
      '/dev/nvmap', '/dev/nvsciipc', '/dev/v4l2-nvdec', '/dev/v4l2-nvenc',
    ],
  },
  nvidia: {
    why: `# NVDEC/NVENC on an NVIDIA GPU: /dev/nvidia0…, nvidiactl, nvidia-uvm, nvidia-caps/*
# (their drivers must be loaded when the unit starts; nvidia-persistenced does that at boot).`,
    allow: ['char-nvidia*'],
  },
};

function devicesSection(o: UnitOptions): string {
  if (o.devices === 'none') {
    return `# No hardware decode or encode here: a private /dev with only null, zero, random and the like.
PrivateDevices=yes`;
  }
  const { why, allow } = DEVICE_ALLOW[o.devices];
  const groups = o.groups.length > 0 ? `SupplementaryGroups=${o.groups.join(' ')}\n` : '';
  return `${why}
# PrivateDevices would hide them: the device cgroup allows these and the pseudo devices only.
${groups}DevicePolicy=closed
${allow.map((a) => `DeviceAllow=${a} rw`).join('\n')}`;
}

/** The unit text; throws on a value unsafeUnitValue refuses. */
export function systemdUnit(o: UnitOptions): string {
  const bad = unsafeUnitValue(o);
  if (bad) throw new Error(bad);
  const underTmp = o.workDir === '/tmp' || o.workDir.startsWith('/tmp/') || o.workDir === '/var/tmp' || o.workDir.startsWith('/var/tmp/');
  return `# One unit for every role: \`systemctl enable --now rugbyworker@transcode\` (or
# rugbyworker@cleanup, rugbyworker@chunk, …, rugbyworker@all). Replaces
# rugbycodex-transcoder-sqs and rugbycodex-cleanup; reads the same .env file.
# Written by \`rugbyworker install-service\` (src/domain/systemd-unit.ts); edit there, not here.
[Unit]
Description=rugbyworker (%i)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=${o.user}
EnvironmentFile=${o.envFile}
ExecStart=${o.execPath} --role %i
# SIGTERM lets in-flight jobs finish for SHUTDOWN_GRACE_SECONDS (${o.shutdownGraceSeconds}), then releases them.
KillSignal=SIGTERM
# mixed: SIGTERM goes to rugbyworker alone, so its FFmpeg keeps encoding through the grace;
# anything still running when TimeoutStopSec ends (an orphaned FFmpeg too) gets SIGKILL.
KillMode=mixed
# At least SHUTDOWN_GRACE_SECONDS + 5, and 60 s: the worker needs a moment after the grace.
TimeoutStopSec=${stopTimeoutSeconds(o.shutdownGraceSeconds)}
Restart=on-failure
RestartSec=10
# Exit 78 is a configuration error and 2 a role this build lacks: restarting cannot fix either.
RestartPreventExitStatus=78 2
StandardOutput=journal
StandardError=journal

# Hardening: \`systemd-analyze security\` rates the exposure below 3 (a test checks it). The
# worker writes only WORK_DIR (scratch for downloads and FFmpeg output); everything else goes
# to S3/Wasabi, SQS, DynamoDB and Supabase over the network. It needs no privilege at all.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
# A private /tmp per instance: a killed worker's scratch is removed with it.
PrivateTmp=yes
# The .env lives in a home directory on the Jetson: reading it is all the worker does there.
ProtectHome=read-only
# WORK_DIR${underTmp ? ' is under /tmp, writable in the private /tmp anyway' : ': create it owned by User= first'}; '-' lets the unit start before it exists.
ReadWritePaths=-${o.workDir}
# Its files (uploaded media) are for User= alone.
UMask=0077
${devicesSection(o)}
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
# Other users' processes are hidden; its own FFmpeg's /proc/PID/io (read progress) is not.
# ProcSubset=pid is not set: the device heartbeat reads /proc/stat, /proc/meminfo,
# /proc/device-tree and /proc/driver/nvidia.
ProtectProc=invisible
PrivateMounts=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
# RemoveIPC is not set: User= is usually the Jetson's login account, whose desktop's shared
# memory it would delete at every stop.
# TCP to the services, Unix sockets for the children's pipes, netlink for getaddrinfo (it
# asks which address families the host has; without it every lookup assumes IPv6 too).
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
# A service's system calls without @privileged and @resources, but with capset: setpriv, which
# starts FFmpeg with --pdeathsig KILL, re-applies its (empty) capabilities and exits 127 when
# it may not. A call outside the list fails with EPERM instead of killing the process (FFmpeg's
# libnuma tries set_mempolicy at start and carries on without it).
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallFilter=capset
SystemCallErrorNumber=EPERM
# MemoryDenyWriteExecute is not set: V8 compiles JavaScript into executable memory, and Node
# aborts at start under it (V8_Fatal in OS::SetPermissions). PrivateNetwork and IPAddressDeny
# are not set: the worker talks to hosts anywhere. Nor PrivateUsers: untried with the device
# groups, and little gain for a process that runs as User= with no capabilities.
# Sockets to S3 (parallel part uploads), SQS and Supabase, FFmpeg's files: well above 1024.
LimitNOFILE=65536
# MemoryMax is not set: a transcode's FFmpeg encodes a 1080p ladder in one pass and its
# memory grows with the rungs and the source; on a Jetson the GPU shares the same RAM. A
# limit set too tight kills FFmpeg mid-job (retried, then dead-lettered) instead of
# protecting anything. To cap a role anyway, set it generously, per instance:
#   systemctl set-property rugbyworker@cleanup MemoryMax=1G
#MemoryMax=

[Install]
WantedBy=multi-user.target
`;
}
