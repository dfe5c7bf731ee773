import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key a limiter counts a client address under. IPv4 addresses count one by one; an IPv6
 * address counts by its /64, the smallest block a provider hands one customer (a single host can
 * use every address in it, so per-address keys would let it spray past any limit). IPv4-mapped
 * IPv6 (`::ffff:192.0.2.1`, how a dual-stack socket reports an IPv4 client) counts as the IPv4
 * address. Anything else is kept as it is (`unknown`).
 */
export function clientKey(address: string): string {
  if (isIPv4(address)) return address;
  const zoneless = address.split('%')[0];
  if (!isIPv6(zoneless)) return address;
  const groups = expandIPv6(zoneless.toLowerCase());
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(zoneless);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (an embedded IPv4 tail included). */
function expandIPv6(address: string): number[] {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number);
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  const all = tail === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right];
  return all.map((g) => parseInt(g, 16));
}
