#!/usr/bin/env node
// `npm run build` step after tsc: the admin app's templates and stylesheet are not TypeScript, so
// tsc does not emit them; they are copied beside the compiled plugin (dist/server/admin/views/),
// where it looks for them, and so `npm pack` ships them with dist/.
import { cpSync } from 'node:fs';

cpSync('src/server/admin/views', 'dist/server/admin/views', { recursive: true });
