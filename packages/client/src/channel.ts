import * as grpc from '@grpc/grpc-js';
import { cancelled, closed, deadlineExceeded, type GavelError, unavailable } from './errors.js';
import type { Settings } from './options.js';

const { READY, TRANSIENT_FAILURE, SHUTDOWN } = grpc.connectivityState;

export function credentialsOf(tls: Settings['tls']): grpc.ChannelCredentials {
  if (tls === 'insecure') return grpc.credentials.createInsecure();
  const pem = (v: string | Buffer | undefined) => (v === undefined ? null : Buffer.from(v));
  return grpc.credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

/**
 * One channel (one HTTP/2 connection) for every service the client calls. Its reconnect backoff is
 * the client's retry backoff, so a server that comes back is reconnected to within one backoff, not
 * grpc-js's default of up to two minutes.
 */
export function openChannel(s: Settings): grpc.Channel {
  const name: grpc.ChannelOptions =
    s.tls !== 'insecure' && s.tls.serverName ? { 'grpc.ssl_target_name_override': s.tls.serverName, 'grpc.default_authority': s.tls.serverName } : {};
  return new grpc.Channel(s.target, credentialsOf(s.tls), {
    'grpc.initial_reconnect_backoff_ms': s.retry.initialBackoffMs,
    'grpc.max_reconnect_backoff_ms': s.retry.maxBackoffMs,
    ...name,
    ...s.channelOptions,
  });
}

/**
 * Resolves once the channel is READY (connected, TLS done), so a call sent next has a connection to
 * go on. Rejects with `unavailable` as soon as connecting failed (refused, reset, TLS refused: the
 * channel is in TRANSIENT_FAILURE), with `deadline_exceeded` (or `unavailable` when `until` is
 * only a connect bound) if it is still connecting at `until`, and with `cancelled` on abort. With
 * `throughFailure`, a failed connection is waited through (grpc-js keeps reconnecting, with the
 * client's backoff) until READY or `until`: the breaker's probe waits for a server coming back.
 */
export function whenReady(channel: grpc.Channel, until: number, deadline: number, signal: AbortSignal | undefined, throughFailure = false): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: GavelError) => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => finish(cancelled());
    const timedOut = () =>
      finish(
        until >= deadline ? deadlineExceeded('the deadline passed before a connection to the server was made') : unavailable('no connection to the server yet'),
      );
    const check = () => {
      if (done) return;
      const state = channel.getConnectivityState(true);
      if (state === READY) return finish();
      if (state === TRANSIENT_FAILURE && !throughFailure) return finish(unavailable(`could not connect to ${channel.getTarget()}`));
      if (state === SHUTDOWN) return finish(closed());
      if (Date.now() >= until) return timedOut();
      channel.watchConnectivityState(state, until, (err) => (err ? timedOut() : check()));
    };
    if (signal?.aborted) return finish(cancelled());
    signal?.addEventListener('abort', onAbort, { once: true });
    check();
  });
}
