import { isIP } from 'node:net';

/**
 * True when host:port binds only the loopback interface. `0.0.0.0`, `::` and
 * any other name or address reach the network.
 */
export function isLoopback(address: string): boolean {
  const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}
