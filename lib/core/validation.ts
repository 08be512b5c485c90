// zod/mini: the same validation core as `zod`, without the chainable methods and the bundled English messages,
// so a Lambda bundle carries ~15 KB of zod instead of ~100 KB and builds its schemas faster at init
// (`npm run bundle-report`). The English messages are configured here, once, for every schema.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());

/** Each zod issue as `path.to.field: message` (`(root)` for the value itself), for errors that name the field. */
export function describeIssues(error: z.core.$ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}
