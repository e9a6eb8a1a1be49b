import { sign, verify } from 'node:crypto';
import { ledgerOrigin } from '../ledger/checkpoint.js';
import { parseVerifierKey, verifierOf, type SigningKey, type VerifierKey } from '../ledger/keys.js';
import { GavelError } from '../lib/errors.js';
import type { RowSigner } from '../usage/postgres/row-signer.js';

/**
 * How this replica vouches for the rows it shares (approvals, request ids) in the shared store, and checks those of
 * its peers: with its ledger's key (the one that signs its checkpoints), and the peers' verifier keys
 * (`gavel audit pubkey` of each replica's ledger, given as --peer-key). A key names its ledger (its
 * origin), so a row names the replica whose key must have signed it.
 */
export function replicaSigner(own: SigningKey, peerKeys: readonly string[]): RowSigner {
  const byName = new Map<string, VerifierKey>();
  for (const text of peerKeys) {
    let key: VerifierKey;
    try {
      key = parseVerifierKey(text);
    } catch (err) {
      throw new GavelError('config_invalid', `--peer-key ${JSON.stringify(text.slice(0, 80))}: ${(err as Error).message}`);
    }
    byName.set(key.name, key);
  }
  const mine = verifierOf(own);
  byName.set(mine.name, mine);
  return {
    sign: (body) => sign(null, Buffer.from(body), own.privateKey).toString('base64'),
    verify: (ledgerId, body, sig) => {
      const key = byName.get(ledgerOrigin(ledgerId));
      if (!key) return false;
      try {
        return verify(null, Buffer.from(body), key.publicKey, Buffer.from(sig, 'base64'));
      } catch {
        return false;
      }
    },
  };
}
