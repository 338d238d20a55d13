import ipaddr from 'ipaddr.js';

/**
 * The unit a per-address limit counts: an IPv4 address as it is, an IPv6 address by its /64.
 * One IPv6 subscriber or host is routinely handed a whole /64, so counting single addresses
 * would give each of them 2^64 fresh allowances. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
 * what a dual-stack socket reports for an IPv4 peer) counts as the IPv4 address it carries.
 * Anything that is not an address (a test transport, a missing value) is used as given.
 */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  // process() turns an IPv4-mapped IPv6 address into the IPv4 address it carries.
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const prefix = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(':')}::/64`;
}
