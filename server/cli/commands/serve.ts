import { defineCommand } from '../command.ts';

export default defineCommand({
  name: 'serve',
  summary: 'run the service from the sources (production runs the bundle: npm start)',
  async run() {
    const { serve } = await import('../../main.ts');
    await serve();
    return await new Promise<number>(() => {}); // runs until a signal exits the process
  },
});
