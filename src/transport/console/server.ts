import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { GavelError } from '../../lib/errors.js';
import { certificateIdentity, isIdentity, type PeerIdentity } from '../security/certificate-identity.js';
import { personOf } from '../security/approver.js';
import { isLoopback } from '../security/listen-rule.js';
import type { TlsFiles } from '../security/tls-files.js';
import type { ConsoleApp, ConsoleOptions, ConsoleSources, RunningConsole } from './app.js';
import { consoleRoutes } from './routes.js';
import { html } from './html.js';
import { httpError } from './http-status.js';
import { page, problem, type PageContext } from './layout.js';
import { UsedLinks, verifyLoginToken } from './login-link.js';
import { csrfMatches, type Session, Sessions } from './sessions.js';

const SESSION_COOKIE = 'gavel_session';
/** A candidate bundle uploaded for replay, at most (the bundle limits then apply to what it holds). */
const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
const ASSETS = new URL('./assets/', import.meta.url);

/**
 * The auditor's console: server-rendered HTML over the runtime's faces (README "Console").
 * Every page escapes what it shows (html.ts), the Content-Security-Policy allows no inline script and
 * nothing from elsewhere, sessions are HttpOnly SameSite=Strict cookies (Secure under TLS), and every
 * state-changing request carries the session's CSRF token.
 */
export async function startConsole(sources: ConsoleSources, options: ConsoleOptions): Promise<RunningConsole> {
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  if (options.dev && !isLoopback(options.listen))
    throw new GavelError('config_invalid', `the console listens on ${options.listen} without an access file: development mode serves loopback only`);
  if (!options.tls && !isLoopback(options.listen))
    throw new GavelError(
      'config_invalid',
      `the console listens on ${options.listen} without TLS: sessions would cross the network in clear; use --tls-cert and --tls-key or a loopback address`,
    );
  const now = options.now ?? (() => new Date());
  const sessions = new Sessions((options.sessionMinutes ?? 480) * 60_000);
  const used = new UsedLinks();
  const secure = options.tls !== undefined;
  const assets = new Map([
    ['console.css', { type: 'text/css; charset=utf-8', body: readFileSync(new URL('console.css', ASSETS)) }],
    ['console.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('console.mjs', ASSETS)) }],
  ]);

  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    serverFactory: (handler) => serverOf(options.tls, handler),
  });
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  // Only the admin's candidate upload is multipart: one file, bounded as a bundle is.
  await app.register(multipart, { attachFieldsToBody: 'keyValues', limits: { files: 1, fileSize: MAX_UPLOAD_BYTES, fields: 8, fieldSize: 4096 } });

  // A multipart body (up to 64 MiB) is read only for the admin's candidate upload, and only once the
  // session is known to hold admin: checked before the body is read, so no one else can make it buffer one.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.headers['content-type']?.toLowerCase().startsWith('multipart/')) return;
    const session = sessionOf(request);
    if (request.method !== 'POST' || request.url !== '/policies/replay' || !session?.roles.has('admin')) {
      reply
        .code(session ? 403 : 401)
        .type('text/plain; charset=utf-8')
        .send('a file upload is accepted only on the Policies page, from a signed-in admin');
    }
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header(
      'content-security-policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    reply.header('x-content-type-options', 'nosniff');
    // same-origin: a sign-in link's token never leaves in a Referer, and forms keep their Origin (no-referrer would send "null").
    reply.header('referrer-policy', 'same-origin');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  const contextOf = (session: Session | undefined): PageContext => ({
    session,
    dev: options.dev,
    readOnly: sources.readOnly,
    ledgers: sources.ledgers.map((l) => l.label),
  });
  const sessionOf = (request: FastifyRequest) => sessions.get(request.cookies[SESSION_COOKIE], now().getTime());

  const consoleApp: ConsoleApp = {
    sources,
    options,
    now,
    send: (reply, c, current, title, body, status = 200) =>
      reply
        .code(status)
        .type('text/html; charset=utf-8')
        .send(page(c.ctx, current, title, body).text),
    signedIn: (request, reply, anyOf) => {
      const session = sessionOf(request);
      if (!session) {
        signInPage(reply, contextOf(undefined), request, 401, 'Sign in to continue.');
        return undefined;
      }
      const c = { session, ctx: contextOf(session) };
      if (!anyOf.some((r) => session.roles.has(r))) {
        consoleApp.send(reply, c, '', 'Not allowed', problem(`This page needs the ${anyOf.join(' or ')} role, which ${session.identity} does not hold.`), 403);
        return undefined;
      }
      if (request.method === 'POST') {
        const body = (request.body ?? {}) as Record<string, unknown>;
        const origin = request.headers.origin;
        if (!csrfMatches(session, body._csrf) || (origin !== undefined && origin !== ownOrigin(request, secure))) {
          consoleApp.send(
            reply,
            c,
            '',
            'Refused',
            problem('This form is out of date or did not come from this console (its CSRF token does not match): reload the page and try again.'),
            403,
          );
          return undefined;
        }
      }
      return c;
    },
    fail: (reply, c, err) => {
      const e = httpError(err, options.log);
      const ctx = c?.ctx ?? contextOf(undefined);
      return reply
        .code(e.status)
        .type('text/html; charset=utf-8')
        .send(page(ctx, '', 'Problem', problem(`${e.message} (${e.code})`)).text);
    },
  };

  app.get('/assets/:name', async (request, reply) => {
    const asset = assets.get((request.params as { name: string }).name);
    if (!asset) return reply.code(404).send('not found');
    return reply.header('cache-control', 'max-age=300').type(asset.type).send(asset.body);
  });

  app.get('/login', async (request, reply) => {
    const token = (request.query as Record<string, unknown>).token;
    const ctx = contextOf(undefined);
    if (typeof token !== 'string' || token === '') return signInPage(reply, ctx, request, 200);
    try {
      const claims = await verifyLoginToken(options.secret, token, now());
      return reply.type('text/html; charset=utf-8').send(
        page(
          ctx,
          '',
          'Sign in',
          html`<p>This link signs you in as <strong>${claims.identity}</strong>. It works once.</p>
<form method="post" action="/login"><input type="hidden" name="token" value="${token}"><button type="submit">Sign in as ${claims.identity}</button></form>`,
        ).text,
      );
    } catch (err) {
      return consoleApp.fail(reply, undefined, err);
    }
  });

  app.post('/login', async (request, reply) => {
    const token = ((request.body ?? {}) as Record<string, unknown>).token;
    try {
      if (typeof token !== 'string') throw new GavelError('sign_in_invalid', 'no sign-in link was sent');
      const claims = await verifyLoginToken(options.secret, token, now());
      if (!used.take(claims, now().getTime()))
        throw new GavelError('sign_in_invalid', 'this sign-in link was already used: ask for a new one (gavel console login)');
      return open(reply, personOf(claims.identity), 'link');
    } catch (err) {
      return consoleApp.fail(reply, undefined, err);
    }
  });

  app.post('/login/certificate', async (request, reply) => {
    const id = certificateOf(request);
    if (!id) return consoleApp.fail(reply, undefined, new GavelError('unauthenticated', 'this browser presented no client certificate from the client CA'));
    return open(reply, id, 'certificate');
  });

  app.post('/logout', async (request, reply) => {
    const session = sessionOf(request);
    if (session && csrfMatches(session, ((request.body ?? {}) as Record<string, unknown>)._csrf)) sessions.end(session.id);
    return reply.clearCookie(SESSION_COOKIE, { path: '/' }).redirect('/login', 303);
  });

  app.get('/', async (_request, reply) => reply.redirect('/decisions', 303));
  consoleRoutes(app, consoleApp);
  app.setNotFoundHandler((request, reply) => {
    const session = sessionOf(request);
    return reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send(page(contextOf(session), '', 'Not found', problem('There is no such page.')).text);
  });

  function open(reply: FastifyReply, person: PeerIdentity, via: Session['via']): FastifyReply {
    const session = sessions.open(
      { identity: person.name, via, roles: options.access.rolesOf(person), approverRoles: options.dev ? [] : options.access.approverRolesOf(person) },
      now().getTime(),
    );
    return reply
      .setCookie(SESSION_COOKIE, session.id, {
        path: '/',
        httpOnly: true,
        secure,
        sameSite: 'strict',
        expires: new Date(session.expiresMs),
      })
      .redirect('/decisions', 303);
  }

  function certificateOf(request: FastifyRequest): PeerIdentity | undefined {
    const socket = request.raw.socket as Partial<TLSSocket>;
    if (!options.tls?.mutual || !socket.authorized || !socket.getPeerCertificate) return undefined;
    const id = certificateIdentity(socket.getPeerCertificate());
    return isIdentity(id) ? id : undefined;
  }

  function signInPage(reply: FastifyReply, ctx: PageContext, request: FastifyRequest, status: number, note?: string): FastifyReply {
    const cert = certificateOf(request);
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(
        page(
          ctx,
          '',
          'Sign in',
          html`${note ? html`<p role="status">${note}</p>` : ''}
<p>Ask an operator for a one-time sign-in link: <code>gavel console login --identity you@example.com</code>.</p>
${cert ? html`<form method="post" action="/login/certificate"><button type="submit">Sign in as ${cert.name} (your client certificate)</button></form>` : ''}`,
        ).text,
      );
  }

  await app.listen({ port: Number(options.listen.slice(options.listen.lastIndexOf(':') + 1)), host: host.replace(/^\[|\]$/g, '') });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `${secure ? 'https' : 'http'}://${host}:${port}`,
    close: () => app.close(),
  };
}

function ownOrigin(request: FastifyRequest, secure: boolean): string {
  return `${secure ? 'https' : 'http'}://${request.headers.host ?? ''}`;
}

function serverOf(tls: TlsFiles | undefined, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  if (!tls) return createHttpServer(handler);
  const m = tls.current;
  // A client certificate is asked for, not required: a browser without one signs in by link.
  const server = createHttpsServer({ cert: m.cert, key: m.key, ...(m.ca ? { ca: m.ca } : {}), requestCert: tls.mutual, rejectUnauthorized: false }, handler);
  tls.onChange((next) => {
    try {
      server.setSecureContext({ cert: next.cert, key: next.key, ...(next.ca ? { ca: next.ca } : {}) });
    } catch {
      // The set was checked whole before it was offered; the console keeps the previous one if it still refuses.
    }
  });
  return server;
}
