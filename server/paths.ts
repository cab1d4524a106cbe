// Where the project's own files are, whether this code runs from server/*.ts under tsx
// or bundled into dist/ for `npm start`: the nearest folder up holding migrations/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'migrations')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the EdgeJail project (a folder with migrations/) above ${from}`);
  }
}

export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));
export const projectPath = (...parts: string[]) => join(PROJECT_ROOT, ...parts);
