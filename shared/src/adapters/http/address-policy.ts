import ipaddr from 'ipaddr.js';

/** Address ranges an outbound request may not reach unless allow-listed. */
const BLOCKED_RANGES = new Set([
  'unspecified',
  'broadcast',
  'multicast',
  'linkLocal',
  'loopback',
  'carrierGradeNat',
  'private',
  'reserved',
  'uniqueLocal',
  'ipv4Mapped',
  'rfc6145',
  'rfc6052',
  '6to4',
  'teredo',
  'benchmarking',
  'amt',
  'as112',
  'deprecated',
  'orchid2',
  'droneRemoteIdProtocolEntityTags',
]);

export interface AddressPolicyOptions {
  /** Host names let through whatever they resolve to: `api.local` or `*.corp.example`. */
  allowHosts?: readonly string[];
  /** Address ranges let through: `127.0.0.1/32`, `10.0.0.0/8`, `::1/128`. */
  allowCidrs?: readonly string[];
}

/** Decides which destinations the `http-request` action may reach (SSRF guard). */
export class AddressPolicy {
  private readonly cidrs: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  private readonly hosts: readonly string[];

  constructor(options: AddressPolicyOptions = {}) {
    this.hosts = (options.allowHosts ?? []).map((h) => h.toLowerCase());
    this.cidrs = (options.allowCidrs ?? []).map((c) => ipaddr.parseCIDR(c));
  }

  hostAllowed(hostname: string): boolean {
    const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
    return this.hosts.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) : host === h));
  }

  /** Why `address` is refused, or undefined when it may be reached. */
  refusal(address: string): string | undefined {
    let parsed = ipaddr.parse(address);
    // ::ffff:127.0.0.1 is 127.0.0.1 in disguise.
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    if (this.cidrs.some(([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits))) return undefined;
    const range = parsed.range();
    return BLOCKED_RANGES.has(range) ? `${address} is a ${range} address` : undefined;
  }
}
