import { decodeClientFrame, ErrorCode } from '@mpc-relay/protocol';
import { errorAnswer, messageRoute } from '../invocation.js';

/**
 * `ack` (two-way). Acknowledgements belong to protocol v2 (issue 8), which this relay does not serve
 * yet: it assigns no message ids, so there is nothing an ack could acknowledge. Rather than pretend
 * (a silent no-op would look like success), a well-formed ack is answered with an UNKNOWN_ACTION
 * error frame saying so; a malformed one gets the usual INVALID_JSON / INVALID_FRAME.
 */
export const handler = messageRoute(async (event) => {
  const decoded = decodeClientFrame(event.body ?? '');
  if (!decoded.ok) return errorAnswer({ ...decoded.error, action: 'ack' });
  return errorAnswer({
    code: ErrorCode.UnknownAction,
    message:
      'action "ack" belongs to protocol v2 (subprotocol mpc-relay.v2), which this relay does not serve yet; nothing was acknowledged',
    action: 'ack',
  });
});
