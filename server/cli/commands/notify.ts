// `edgejail notify test`; the work itself is in notify/commands.ts.
import { runNotifyCommand } from '../../notify/commands.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  name: 'notify test',
  summary: 'send a test message through every notification channel (webhooks, SMTP)',
  description: 'Signed and retried like a real alert (three attempts); one line per channel; exit 1 when a channel failed.',
  run: ({ config, out }) =>
    runNotifyCommand(['test'], {
      config,
      out: (line) => out.line(line),
      fail: (message) => {
        out.error(`edgejail: ${message}`);
        return 1;
      },
    }),
});
