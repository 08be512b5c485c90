import type { z } from 'zod';

/** Each zod issue as `path.to.field: message` (`(root)` for the value itself), for errors that name the field. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}
