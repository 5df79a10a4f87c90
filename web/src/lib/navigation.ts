/** Only a path of this site, so a `next` parameter can never send the user elsewhere. */
export const safeNext = (next: string | null): string => (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/');
