// The listen address as bound (for a truthful start-up log and the exposure warning), and listen
// failures as errors an operator can act on.
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';

export interface ListenAddress {
  /** the bound address as the OS reports it, e.g. "127.0.0.1", "0.0.0.0", "::" */
  host: string;
  port: number;
  /** 0.0.0.0 or :: */
  everyInterface: boolean;
  /** 127.0.0.0/8 or ::1: reachable from this machine only */
  loopback: boolean;
  /** e.g. "127.0.0.1:4000 (loopback only)", "0.0.0.0:4000 (every interface)" */
  text: string;
}

function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || /^::ffff:127\./i.test(host);
}

export function listeningOn(address: AddressInfo): ListenAddress {
  const host = address.address;
  const everyInterface = host === '0.0.0.0' || host === '::';
  const loopback = isLoopback(host);
  const shown = host.includes(':') ? `[${host}]` : host;
  const scope = everyInterface ? 'every interface' : loopback ? 'loopback only' : 'this address only';
  return { host, port: address.port, everyInterface, loopback, text: `${shown}:${address.port} (${scope})` };
}

export class ListenError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/** EADDRINUSE → "port N is already in use", and similar plain messages for the usual causes. */
export function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new ListenError(`port ${port} is already in use on ${host}: stop the other process or set PORT to a free port`, code);
  }
  if (code === 'EACCES')
    return new ListenError(`not allowed to listen on ${host}:${port} (ports below 1024 need privileges): set PORT`, code);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ListenError(
      `cannot listen on ${host}: no such local address (HOST); use 127.0.0.1, 0.0.0.0 or an address of this machine`,
      code,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
