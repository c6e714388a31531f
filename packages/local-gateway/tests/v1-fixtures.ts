// The original demo's README "Real Interaction Example", exact JSON: what the mpc sends, what the cli
// receives, the cli's FullSig answer and what the mpc receives. Shared (relative import) by the
// relay's own tests (apps/relay), which depend on this package; no imports on purpose.

export const REAL_MPC_SENDS = {
  action: 'sendServer',
  sourceId: 'IgniterC56D',
  cliToMpc: { cli123: 'IgniterC56D' },
  operationType: 'PartialSig',
  message: {
    accountHash: 'accountHash',
    teamId: 'teamId',
    transactionId: 'transactionId',
    partialSig: 'partialSig',
  },
};
export const REAL_CLI_RECEIVES = {
  operationType: 'PartialSig',
  from: 'IgniterC56D',
  message: {
    accountHash: 'accountHash',
    teamId: 'teamId',
    transactionId: 'transactionId',
    partialSig: 'partialSig',
  },
};
export const FULL_SIG = {
  accountHash: 'accountHash',
  signatureR: 'r',
  signatureS: 's',
  signatureV: 'v',
  teamId: 'teamId',
  transactionId: 'transactionId',
};
export const REAL_CLI_SENDS = {
  action: 'sendServer',
  sourceId: 'cli123',
  operationType: 'FullSig',
  message: FULL_SIG,
};
export const REAL_MPC_RECEIVES = {
  operationType: 'FullSig',
  from: 'cli123',
  to: 'IgniterC56D',
  message: FULL_SIG,
};
