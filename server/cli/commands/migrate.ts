import { databasePath } from '../../config/load.ts';
import { migrate, openDatabase } from '../../store/db.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  name: 'migrate',
  summary: 'create or upgrade the database',
  description: 'The service and every other command migrate on their own; this only makes it explicit.',
  run({ config, out }) {
    const db = openDatabase(databasePath(config), { migrate: false });
    try {
      const applied = migrate(db);
      out.line(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    } finally {
      db.close();
    }
    return 0;
  },
});
