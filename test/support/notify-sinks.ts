// What the alert tests send to: a local HTTP listener standing in for webhook receivers
// (scripted answers per request) and a local SMTP sink (npm smtp-server) that checks the
// login and keeps each mail. Both listen on loopback only and say when a message arrived.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter, once } from 'node:events';
import { SMTPServer } from 'smtp-server';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Resolves once `count()` reaches `n`, woken by each arrival (no polling, no fixed sleep).
 * Gives up after a generous minute so a missing message fails the test instead of hanging it.
 */
async function waitForCount(events: EventEmitter, count: () => number, n: number): Promise<void> {
  const signal = AbortSignal.timeout(60_000);
  try {
    while (count() < n) await once(events, 'arrived', { signal });
  } catch (error) {
    if (signal.aborted) throw new Error(`expected ${n} message(s) at the sink, got ${count()}`);
    throw error;
  }
}

export async function startWebhookSink(options: { answer?: (index: number) => { status: number; headers?: Record<string, string> } | 'hang' } = {}) {
  const requests: ReceivedRequest[] = [];
  const events = new EventEmitter();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = requests.length;
      requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = options.answer?.(index) ?? { status: 200 };
      if (answer !== 'hang') res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end(answer.status < 300 ? 'ok' : 'nope');
      events.emit('arrived');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    requests,
    waitFor: (n: number) => waitForCount(events, () => requests.length, n),
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
  subject: string;
}

export async function startSmtpSink(login: { user: string; pass: string }) {
  const mails: ReceivedMail[] = [];
  const events = new EventEmitter();
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true, // loopback only; the channel's STARTTLS path needs a certificate
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === login.user && auth.password === login.pass) return callback(null, { user: auth.username });
      return callback(new Error('invalid login'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(raw)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '';
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          raw,
          subject,
        });
        callback();
        events.emit('arrived');
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    mails,
    waitFor: (n: number) => waitForCount(events, () => mails.length, n),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
