// Builds the channels `notify` names, reading their secrets from their files once. A file
// that cannot be read stops start-up with the key that names it (never its content).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config/load.ts';
import type { NotifyConfig } from '../../config/notify.ts';
import type { Channel } from './channel.ts';
import { createWebhookChannel } from './webhook.ts';
import { createSmtpChannel } from './smtp.ts';

function readSecret(file: string, key: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${key}: ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new ConfigError(`${key}: ${file} is empty`);
  return secret;
}

export function channelsFromConfig(config: NotifyConfig, now: () => number): Channel[] {
  const channels: Channel[] = config.webhooks.map((hook, index) =>
    createWebhookChannel({
      index,
      url: hook.url,
      format: hook.format,
      secret: hook.secret_file ? readSecret(hook.secret_file, `notify.webhooks[${index}].secret_file`) : null,
      now,
    }),
  );
  if (config.smtp) {
    const password = config.smtp.password_file ? readSecret(config.smtp.password_file, 'notify.smtp.password_file') : null;
    channels.push(createSmtpChannel(config.smtp, password));
  }
  return channels;
}
