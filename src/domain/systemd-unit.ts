// The systemd unit template `rugbyworker@.service`, one for every role (`%i` is the
// instance: a role name or `all`). The only source of the unit text: deploy/systemd's
// file is systemdUnit(DEFAULT_UNIT) (a test fails when they differ) and
// `rugbyworker install-service` writes systemdUnit() for its binary and .env.

export const UNIT_FILE_NAME = 'rugbyworker@.service';

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
}

/** What deploy/systemd/rugbyworker@.service is made with: RugbyCodex's Jetson, the schema's defaults. */
export const DEFAULT_UNIT: UnitOptions = {
  execPath: '/usr/local/bin/rugbyworker',
  envFile: '/home/scribe/rugbycodex/jetson_scripts/.env',
  user: 'scribe',
  workDir: '/tmp/rugbyworker',
  shutdownGraceSeconds: 25,
};

// Paths and names written into the unit as they are: no quoting, escaping or specifiers needed.
const SAFE_PATH = /^\/[A-Za-z0-9._/@+-]*$/;
const SAFE_USER = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Why a value cannot go into the unit as written, or undefined when it can. */
export function unsafeUnitValue(o: UnitOptions): string | undefined {
  for (const [what, p] of [['executable path', o.execPath], ['.env path', o.envFile], ['WORK_DIR', o.workDir]] as const) {
    if (!SAFE_PATH.test(p) || p.split('/').some((s) => s === '..' || s === '.')) return `${what} ${JSON.stringify(p)} must be an absolute path of letters, digits and . _ / @ + - only`;
  }
  if (!SAFE_USER.test(o.user)) return `user ${JSON.stringify(o.user)} is not a plain user name`;
  if (!Number.isInteger(o.shutdownGraceSeconds) || o.shutdownGraceSeconds < 1) return `SHUTDOWN_GRACE_SECONDS ${o.shutdownGraceSeconds} is not a whole number ≥ 1`;
  return undefined;
}

/** TimeoutStopSec: SHUTDOWN_GRACE_SECONDS + 5 at least, and never below 60 s (time to hand messages back and exit). */
export function stopTimeoutSeconds(graceSeconds: number): number {
  return Math.max(60, graceSeconds + 5);
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

# Hardening. The worker writes only WORK_DIR (scratch for downloads and FFmpeg output);
# everything else goes to S3/Wasabi, SQS, DynamoDB and Supabase over the network.
NoNewPrivileges=yes
ProtectSystem=strict
# A private /tmp per instance: a killed worker's scratch is removed with it.
PrivateTmp=yes
# The .env lives in a home directory on the Jetson: reading it is all the worker does there.
ProtectHome=read-only
# WORK_DIR${underTmp ? ' is under /tmp, writable in the private /tmp anyway' : ': create it owned by User= first'}; '-' lets the unit start before it exists.
ReadWritePaths=-${o.workDir}
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
