// Types of build/node-dist.mjs for the TypeScript tests.
export interface NodePin { node: string; tarball: string }
export type NodePins = Record<string, Partial<Record<'x64' | 'arm64', NodePin>>>;
export const NODE_VERSION: string;
export const ARCHES: ('x64' | 'arm64')[];
export const EXEC_ARGV: string[];
export function cacheDir(): string;
export function fileSha256(file: string): string;
export function nodeBinary(arch: 'x64' | 'arm64', version?: string, opts?: { pins?: NodePins; cache?: string }): string;
export function pinsFor(version: string): Record<'x64' | 'arm64', NodePin>;
export function hostArch(): 'x64' | 'arm64';
