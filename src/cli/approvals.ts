import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Command } from 'commander';
import { gavelServices } from '../transport/proto.js';
import { EXIT } from './exit.js';
import { limitOption } from './options.js';
import { printable } from './table.js';

interface ServerOptions {
  server: string;
  cacert?: string;
  cert?: string;
  key?: string;
  json?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: a decoded protobuf message, read field by field for display
type ApprovalMessage = Record<string, any>;

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response: ApprovalMessage) => void,
) => void;

/**
 * `gavel approvals`: operators list, show, approve and reject approval
 * requests through a running server's ApprovalService (the server is the
 * ledger's one writer, so every vote goes through it and lands in its chain).
 */
export function registerApprovals(program: Command): void {
  const approvals = program.command('approvals').description('approval requests of a running server (its ApprovalService): list, show, approve, reject');
  const connected = (c: Command) =>
    c
      .option('--server <host:port>', 'the gavel server (env GAVEL_SERVER)', process.env.GAVEL_SERVER ?? '127.0.0.1:50051')
      .option('--cacert <file>', 'CA that signed the server certificate (TLS)')
      .option('--cert <file>', 'client certificate (mutual TLS: the identity that needs the approve or audit role)')
      .option('--key <file>', 'client key')
      .option('--json', 'the Approval messages as JSON lines');
  connected(approvals.command('list'))
    .description('requests, newest first')
    .option('--state <state>', 'pending, approved, rejected, expired or consumed')
    .option('--approver-role <role>', 'requests this role may approve')
    .option('--subject <id>')
    .option('--team <team>')
    .option('--limit <n>', 'at most this many (default 100, at most 1000)', limitOption(1000))
    .addHelpText('after', '\nExample:\n  gavel approvals list --state pending --approver-role finance-manager')
    .action((o: ServerOptions & { state?: string; approverRole?: string; subject?: string; team?: string; limit?: number }) =>
      call(
        o,
        'ListApprovals',
        { state: o.state ?? '', approver_role: o.approverRole ?? '', subject: o.subject ?? '', team: o.team ?? '', limit: o.limit ?? 0 },
        (res) => print((res.approvals as ApprovalMessage[]) ?? [], o.json === true),
      ),
    );
  connected(approvals.command('show'))
    .argument('<approval-id>')
    .description('one request: what was asked, by whom, who voted')
    .action((id: string, o: ServerOptions) => call(o, 'GetApproval', { approval_id: id }, (a) => (o.json ? print([a], true) : printDetail(a))));
  for (const verdict of ['approve', 'reject'] as const) {
    connected(approvals.command(verdict))
      .argument('<approval-id>')
      .description(`${verdict} a pending request on behalf of a person (needs the approve role)`)
      .requiredOption('--as <approver-id>', 'the person who decides (never the subject of the request)')
      .option(
        '--role <role>',
        "a role of that person (repeatable); under an access file gavel takes the person's roles from its people: section and refuses a role it does not grant",
        (v: string, all: string[]) => [...all, v],
        [] as string[],
      )
      .option('--comment <text>', 'why (stored with the vote in the ledger)', '')
      .addHelpText('after', `\nExample:\n  gavel approvals ${verdict} 3f2b8c1e-… --as mia --role finance-manager --comment "invoice checked"`)
      .action((id: string, o: ServerOptions & { as: string; role: string[]; comment: string }) =>
        call(
          o,
          'Resolve',
          { approval_id: id, verdict: verdict === 'approve' ? 'VERDICT_APPROVE' : 'VERDICT_REJECT', approver: { id: o.as, roles: o.role }, comment: o.comment },
          (a) => (o.json ? print([a], true) : printDetail(a)),
        ),
      );
  }
}

function credentials(o: ServerOptions): grpc.ChannelCredentials {
  if (!o.cacert && !o.cert && !o.key) return grpc.credentials.createInsecure();
  const read = (f: string | undefined) => (f ? readFileSync(f) : null);
  return grpc.credentials.createSsl(read(o.cacert), read(o.key), read(o.cert));
}

/** One unary call; a refusal prints the server's message and exits 1, an unreachable server exits 3. */
async function call(o: ServerOptions, method: string, request: unknown, done: (res: ApprovalMessage) => void): Promise<void> {
  const client = new (gavelServices().ApprovalService)(o.server, credentials(o));
  try {
    const res = await new Promise<ApprovalMessage>((resolve, reject) => {
      const fn = (client as unknown as Record<string, UnaryMethod>)[method]!.bind(client);
      // Without mutual TLS the server records this claim as the caller (unverified:gavel-cli); with it, the certificate.
      const metadata = new grpc.Metadata();
      metadata.set('x-gavel-caller', 'gavel-cli');
      fn(request, metadata, { deadline: Date.now() + 10_000 }, (err, r) => (err ? reject(err) : resolve(r)));
    });
    done(res);
  } catch (err) {
    const e = err as grpc.ServiceError;
    const code = e.metadata?.get('gavel-error-code')[0];
    process.stderr.write(`gavel: ${e.details || e.message}${code ? ` (${String(code)})` : ''}\n`);
    process.exitCode = e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED ? EXIT.error : EXIT.failed;
  } finally {
    client.close();
  }
}

/** The message as JSON, params decoded (bytes travel as base64 otherwise). */
function plain(a: ApprovalMessage): Record<string, unknown> {
  const { params_json, ...rest } = a;
  return { ...rest, params: JSON.parse(Buffer.from(params_json ?? '{}').toString() || '{}') };
}

function print(list: ApprovalMessage[], json: boolean): void {
  if (json) {
    for (const a of list) process.stdout.write(`${JSON.stringify(plain(a))}\n`);
    return;
  }
  const p = printable;
  if (list.length === 0) process.stdout.write('no approvals match\n');
  for (const a of list) {
    process.stdout.write(
      `${p(a.approval_id)}  ${p(a.state).padEnd(8)}  ${p(a.subject_id)}  ${p(a.resource)}  ${p(JSON.stringify(plain(a).params))}  approvers ${p(a.approvers.join(', '))}  until ${p(a.expires_at)}\n`,
    );
  }
}

function printDetail(a: ApprovalMessage): void {
  const p = printable;
  const lines = [
    `approval   ${p(a.approval_id)}  ${p(a.state)}`,
    `asked      ${p(a.subject_id)}${a.on_behalf_of ? ` on behalf of ${p(a.on_behalf_of)}` : ''} (team ${p(a.team)}): ${p(a.action_type)} ${p(a.resource)} ${p(JSON.stringify(plain(a).params))}`,
    `approvers  ${p(a.approvers.join(', '))}; ${a.min_approvals} needed`,
    `open       ${p(a.created_at)} until ${p(a.expires_at)}${a.resolved_at ? `; resolved ${p(a.resolved_at)}` : ''}`,
    `decisions  requested by ${p(a.requested_by)}${a.consumed_by ? `, used by ${p(a.consumed_by)}` : ''}`,
    ...(a.votes as ApprovalMessage[]).map(
      (v) => `vote       ${p(v.verdict)} by ${p(v.approver.id)} (${p(v.approver.roles.join(', '))}) at ${p(v.at)}${v.comment ? `: "${p(v.comment)}"` : ''}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
