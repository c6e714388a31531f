/** An error the user can fix (port in use, unwritable data folder, bad flag): one line, no stack. */
export class UserError extends Error {
  override name = 'UserError';
}
