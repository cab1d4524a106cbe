// Reads the optional config file and the EDGEJAIL_* / CLOUDFLARE_* environment into one
// validated Config. A bad config stops start-up with a message naming the key and why.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.ts';
import { cloudflareConfigFromEnv } from '../cloudflare/config.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold an object`);
  return parsed as Record<string, unknown>;
}

function describeConfigIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(root)';
    return `  ${key}: ${issue.message}`;
  });
  return `invalid configuration (${source}):\n${lines.join('\n')}`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): Config {
  const file = env.EDGEJAIL_CONFIG;
  const raw: Record<string, unknown> = file ? readConfigFile(file) : {};
  const fromEnv: Record<string, unknown> = {};
  if (env.EDGEJAIL_DATA_DIR) fromEnv.data_dir = env.EDGEJAIL_DATA_DIR;
  if (env.EDGEJAIL_HOST) fromEnv.host = env.EDGEJAIL_HOST;
  if (env.EDGEJAIL_PORT) fromEnv.port = env.EDGEJAIL_PORT;
  if (env.EDGEJAIL_ADMIN_TOKEN) fromEnv.admin_token = env.EDGEJAIL_ADMIN_TOKEN;
  if (env.EDGEJAIL_LOG_LEVEL) fromEnv.log_level = env.EDGEJAIL_LOG_LEVEL;
  const merged: Record<string, unknown> = { ...raw, ...fromEnv, ...overrides };
  const section = (key: string) => ({ ...(merged[key] as Record<string, unknown> | undefined) });
  if (env.EDGEJAIL_ADMIN_HOST || env.EDGEJAIL_ADMIN_PORT) {
    merged.admin = { ...section('admin'), ...(env.EDGEJAIL_ADMIN_HOST && { host: env.EDGEJAIL_ADMIN_HOST }), ...(env.EDGEJAIL_ADMIN_PORT && { port: env.EDGEJAIL_ADMIN_PORT }) };
  }
  if (env.EDGEJAIL_METRICS_LISTEN) merged.metrics = { ...section('metrics'), listen: env.EDGEJAIL_METRICS_LISTEN };
  merged.cloudflare = cloudflareConfigFromEnv(env, raw.cloudflare);
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(describeConfigIssues(result.error, file ? `file ${file} and environment` : 'environment'));
  return result.data;
}

export function databasePath(config: Config): string {
  return resolve(config.database ?? join(config.data_dir, 'edgejail.db'));
}
