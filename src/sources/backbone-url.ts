// Which backbone URLs the service may fetch: http(s) only, no credentials, a host (and port) on the
// GLIMPSE_BACKBONE_HOSTS allow-list, and — once the name is resolved — only public unicast addresses
// (loopback, private, link-local, unique-local, multicast, CGNAT, reserved… refused) unless the
// operator allowed a range (GLIMPSE_BACKBONE_ALLOW_PRIVATE). The WHATWG URL parser normalises the
// other IPv4 spellings (0x7f000001, 2130706433, 0177.0.0.1, 127.1) to dotted quads before any check.
// No I/O here: the API checks client input with it; src/sources/guarded-fetch.ts re-checks every hop.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface AddressPolicy {
  /** `host` (the scheme's default port) or `host:port` entries, as URL.host writes them */
  hosts: readonly string[];
  /** CIDR ranges of non-public addresses that are allowed anyway */
  allowPrivate: readonly string[];
}

/** A URL or address the policy refuses. The message is safe to show: it quotes no response content. */
export class SourceRefusedError extends Error {
  readonly code = 'SOURCE_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'SourceRefusedError';
  }
}

function parse(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const ip = ipaddr.parse(address);
  // ::ffff:127.0.0.1 is 127.0.0.1
  return ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip;
}

/** null when `address` may be connected to; otherwise its range name (loopback, private, …) */
export function refusedRange(address: string, allowPrivate: readonly string[]): string | null {
  if (isIP(address) === 0) return 'invalid';
  const ip = parse(address);
  const range = ip.range();
  if (range === 'unicast') return null;
  for (const cidr of allowPrivate) {
    const [net, bits] = ipaddr.parseCIDR(cidr);
    if (net.kind() === ip.kind() && ip.match(net, bits)) return null;
  }
  return range;
}

/** The host of a URL without IPv6 brackets: what DNS resolves or what is an address already. */
export function bareHostname(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Parses and checks a backbone URL against the policy (scheme, credentials, allow-list, and an IP
 * literal's range). Host names are resolved and checked when connecting (guarded-fetch.ts).
 */
export function checkBackboneUrl(text: string, policy: AddressPolicy): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SourceRefusedError('not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SourceRefusedError(`${url.protocol} URLs are not fetched (http or https only)`);
  if (url.username || url.password) throw new SourceRefusedError('URLs with credentials are not fetched');
  if (!policy.hosts.includes(url.host)) {
    throw new SourceRefusedError(`host ${url.host} is not allowed (GLIMPSE_BACKBONE_HOSTS: ${policy.hosts.join(', ') || 'none'})`);
  }
  const host = bareHostname(url);
  if (isIP(host) !== 0) {
    const range = refusedRange(host, policy.allowPrivate);
    if (range !== null) throw new SourceRefusedError(`${url.host} is a ${range} address, which is not fetched`);
  }
  return url;
}
