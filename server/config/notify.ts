// The `notify` section: where alerts go and how often. Secrets (webhook signing keys, the
// SMTP password) are named by file, never written in the config itself, so the config can
// be shown, diffed and backed up without leaking them.
import { z } from 'zod';
import { durationSchema } from './duration.ts';

export const WEBHOOK_FORMATS = ['json', 'slack'] as const;

const webhookUrlSchema = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

const webhookSchema = z
  .strictObject({
    url: webhookUrlSchema,
    /** The HMAC key of the X-EdgeJail-Signature header; a Slack/Discord hook needs none (its URL is the secret). */
    secret_file: z.string().min(1).optional(),
    format: z.enum(WEBHOOK_FORMATS).default('json'),
  })
  .refine((hook) => hook.format !== 'json' || hook.secret_file !== undefined, {
    message: 'a json webhook needs secret_file (its messages are signed like the plugin\'s)',
    path: ['secret_file'],
  });

// Deliberately loose: the relay is the judge of an address, we only catch obvious typos.
const mailboxSchema = z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/, 'must be an e-mail address (name@host)');

const smtpSchema = z
  .strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(587),
    /** Upgrade to TLS with STARTTLS and refuse to send without it; port 465 (implicit TLS) is also understood. */
    starttls: z.boolean().default(true),
    user: z.string().min(1).optional(),
    password_file: z.string().min(1).optional(),
    from: mailboxSchema,
    to: z.union([mailboxSchema.transform((one) => [one]), z.array(mailboxSchema).min(1, 'must name at least one recipient')]),
  })
  .refine((smtp) => (smtp.user === undefined) === (smtp.password_file === undefined), {
    message: 'user and password_file go together (both for an authenticating relay, neither for an open one)',
    path: ['password_file'],
  });

export const notifyConfigSchema = z
  .strictObject({
    /** At most one digest per channel per interval; a storm of bans becomes one message. */
    min_interval: durationSchema.prefault('15m').refine((s) => s >= 10, 'must be at least 10s'),
    /** Enforcement must keep failing this long before it is worth a message (a blip is not). */
    enforcement_failing_after: durationSchema.prefault('5m'),
    webhooks: z.array(webhookSchema).default([]),
    smtp: smtpSchema.optional(),
  })
  .prefault({});

export type NotifyConfig = z.infer<typeof notifyConfigSchema>;
export type WebhookConfig = NotifyConfig['webhooks'][number];
export type SmtpConfig = NonNullable<NotifyConfig['smtp']>;
