import { decodeClientFrame, ErrorCode } from '@mpc-relay/protocol';
import { errorAnswer } from '../invocation.js';
import { messageRoute } from '../wrappers/message-route.js';

/**
 * `$default` (two-way): whatever no route took. Non-JSON gets INVALID_JSON, a JSON body without
 * `action` INVALID_FRAME, an unknown action UNKNOWN_ACTION naming it. Never throws.
 */
export const handler = messageRoute(async (event) => {
  const decoded = decodeClientFrame(event.body ?? '');
  if (!decoded.ok) return errorAnswer(decoded.error);
  // A known action reaching $default means the API's routes and the route table disagree.
  return errorAnswer({
    code: ErrorCode.UnknownAction,
    message: `action ${JSON.stringify(decoded.value.action)} has no route on this relay`,
    action: decoded.value.action,
  });
});
