/** The integration timeout elapsed before the handler answered. */
export class HandlerTimeout extends Error {}
