export { type FakeConnection, FakeRelay, type FakeRelayOptions, until } from './fake-relay.js';
export { type SigningTarget, signedFetch } from './signed-fetch.js';
export { type ThreeRoundResult, threeRoundProtocol } from './three-round.js';
export {
  compact,
  FULL_SIG,
  fixture,
  GET_CONNECTION_ID_FIXTURE,
  REAL_CLI_RECEIVES,
  REAL_CLI_SENDS,
  REAL_MPC_RECEIVES,
  REAL_MPC_SENDS,
  V1_EXAMPLES,
} from './v1.js';
export {
  connectUrl,
  fullSig,
  type PeerRef,
  partialSig,
  type V1FullSig,
  type V1PartialSig,
} from './v1-frames.js';
