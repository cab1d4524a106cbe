#!/usr/bin/env node
// The `edgejail` command: runs the TypeScript CLI through tsx, so `npx edgejail` works
// straight after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../cli.ts');
process.exitCode = await runCli(process.argv.slice(2));
