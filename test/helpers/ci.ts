/** Whether the tests run under CI (`CI` set and not false): there a missing tool fails its tests instead of skipping them. */
export function ciIsSet(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}
