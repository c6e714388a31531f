// What the steps of a send pass one another, apart from the steps themselves: request.ts reads the
// request, route.ts resolves its route, lookups.ts and relay.ts work from the whole `Send`.
import type { ConversationKey, PeerIdentity, SendServerFrame } from '@mpc-relay/protocol';
import type { RelayConfig } from '../config.js';
import type { SenderTenancy } from '../policy.js';
import type { RouteItem } from '../store/conversations.js';
import type { TableRef } from '../store/table.js';

/** A sendServer frame whose sender is authenticated and names itself as the source. */
export interface SendRequest {
  frame: SendServerFrame;
  sender: PeerIdentity;
  /** The sender's teams (authorizer context; none outside jwt mode). */
  senderTeams: string[];
  /** The sender's token `peers` claim: the only counterparts it may talk to (undefined: any). */
  senderPeers: string[] | undefined;
  /** The conversation the frame names (`sessionId`, else the message's transactionId / txId). */
  key: ConversationKey | undefined;
  /** The sender's own connection and its protocol: recorded for the replies of an mpc's route. */
  connectionId: string;
  protocol: string;
}

/** Where a message goes, the exact v1 text it arrives as, and the route item it writes or follows. */
export interface Route {
  target: PeerIdentity;
  /** The original demo delivery frame (v2 receivers get it wrapped, see `frameFor`). */
  delivery: string;
  /**
   * mpc -> cli: the route item this message writes: its conversation (it names a key) or the cli's
   * latest mapping (it names none), recording the mpc's connection, teams and peers.
   */
  write?: RouteItem;
  /** cli -> mpc: the route item the reply follows (its recorded connection is posted to first). */
  followed?: RouteItem;
}

/** One send once routed: what the lookups and the delivery work from. */
export interface Send {
  request: SendRequest;
  route: Route;
  tenancy: SenderTenancy;
  config: RelayConfig;
  table: TableRef;
}
