// The e-mail channel: nodemailer through the configured relay. STARTTLS is required when
// `starttls` is on (a relay that does not offer it is an error, not a silent plain-text
// send); port 465 means implicit TLS.
import type { Transporter } from 'nodemailer';
import type { SmtpConfig } from '../../config/notify.ts';
import { mailContent, type NotifyMessage } from '../message.ts';
import { DeliveryError, type Channel } from './channel.ts';

const TIMEOUT_MS = 15_000;
// Transient by nature: the relay or the network may come back.
const RETRYABLE_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNRESET', 'ECONNREFUSED', 'EPROTOCOL']);

export function createSmtpChannel(config: SmtpConfig, password: string | null): Channel {
  const implicitTls = config.port === 465;
  // nodemailer is loaded with the first mail, not at start: a service that sends none (most
  // of the time, all of it) keeps its few MB of heap.
  let transport: Promise<Transporter> | null = null;
  const transporter = () =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        host: config.host,
        port: config.port,
        secure: implicitTls,
        requireTLS: !implicitTls && config.starttls,
        ignoreTLS: !implicitTls && !config.starttls,
        auth: config.user ? { user: config.user, pass: password ?? '' } : undefined,
        connectionTimeout: TIMEOUT_MS,
        greetingTimeout: TIMEOUT_MS,
        socketTimeout: TIMEOUT_MS,
      }),
    ));
  return {
    name: `smtp ${config.host}:${config.port} to ${config.to.join(', ')}`,
    kind: 'smtp',
    redactions: password ? [password] : [],
    close: () => {
      void transport?.then((t) => t.close());
    },
    async send(message: NotifyMessage, signal: AbortSignal) {
      if (signal.aborted) throw new DeliveryError('stopped', false);
      const { subject, text } = mailContent(message);
      try {
        await (await transporter()).sendMail({ from: config.from, to: config.to, subject, text, messageId: `<${message.id}@edgejail>` });
      } catch (error) {
        const e = error as { code?: string; command?: string; responseCode?: number; response?: string; message?: string };
        const step = e.command ? ` to ${e.command}` : '';
        let what = e.responseCode ? `SMTP ${e.responseCode}${step}: ${(e.response ?? '').slice(0, 200)}` : `${e.code ?? 'error'}${step}: ${(e.message ?? String(error)).slice(0, 200)}`;
        if (/STARTTLS/i.test(e.command ?? '') || e.code === 'ETLS') what += '; the relay must offer STARTTLS while notify.smtp.starttls is true (nothing was sent in clear)';
        // 4xx replies are "try again later"; 5xx and a refused login will not change by retrying.
        const retryable = e.responseCode ? e.responseCode >= 400 && e.responseCode < 500 : RETRYABLE_CODES.has(e.code ?? '');
        throw new DeliveryError(what, retryable);
      }
    },
  };
}
