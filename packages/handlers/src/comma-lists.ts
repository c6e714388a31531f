// The teams and `peers` claims travel as comma strings (authorizer context values must be scalars,
// and the connection, route and inbox items store them the same way).

/** Team ids from a comma string (authorizer context, connection and inbox items). */
export function parseTeams(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [];
  return value
    .split(',')
    .map((team) => team.trim())
    .filter((team) => team !== '');
}

/** Peer ids from a comma string (authorizer context, connection and route items). */
export function parsePeerList(value: string): string[] {
  return value
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
}
