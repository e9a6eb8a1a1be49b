/** The console's shape, shared by its server and its routes: what it reads, how it is configured, what a page handler gets. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../log.js';
import type { ApprovalsFace, LedgerView, PoliciesFace, ReportFace } from '../../runtime/faces.js';
import type { AccessPolicy } from '../security/access-policy.js';
import type { Role } from '../security/roles.js';
import type { TlsFiles } from '../security/tls-files.js';
import type { Html } from './html.js';
import type { PageContext } from './layout.js';
import type { Session } from './sessions.js';

/** What the console reads and acts on: a running gavel's faces, or ledger files opened read-only. */
export interface ConsoleSources {
  ledgers: LedgerView[];
  approvals?: ApprovalsFace;
  report?: ReportFace;
  policies?: Pick<PoliciesFace, 'bundles' | 'shadow' | 'replay'>;
  readOnly: boolean;
}

export interface ConsoleOptions {
  /** host:port; port 0 picks a free one. */
  listen: string;
  /** Signs and checks the one-time sign-in links (login-link.ts). */
  secret: Uint8Array;
  /** Roles of the signed-in person (their `identities:` rules) and approver roles (`people:`). */
  access: AccessPolicy;
  /** No access file: every signed-in person holds every role; loopback only. */
  dev: boolean;
  /** HTTPS with the server's certificate; with a client CA, a browser may also sign in by its certificate. */
  tls?: TlsFiles;
  log: Logger;
  /** How long a session lasts (default 8 hours). */
  sessionMinutes?: number;
  now?: () => Date;
}

export interface RunningConsole {
  port: number;
  /** The base URL sign-in links point at. */
  url: string;
  close(): Promise<void>;
}

/** The front end named in approval entries resolved from the console. */
export const CONSOLE_FRONT_END = 'gavel-console';

/** A request the console serves: the signed-in session, its page context. */
export interface ConsoleRequestContext {
  session: Session;
  ctx: PageContext;
}

export interface ConsoleApp {
  sources: ConsoleSources;
  options: ConsoleOptions;
  now: () => Date;
  /** Sends a full page (status 200 unless given). */
  send(reply: FastifyReply, c: ConsoleRequestContext, current: string, title: string, body: Html, status?: number): FastifyReply;
  /** The session behind a request after the role check: 401 → sign-in page, 403 → a page naming the role. */
  signedIn(request: FastifyRequest, reply: FastifyReply, anyOf: readonly Role[]): ConsoleRequestContext | undefined;
  fail(reply: FastifyReply, c: ConsoleRequestContext | undefined, err: unknown): FastifyReply;
}
