/**
 * The signer command's behaviour, separate from argument parsing: connect as a cli, print every
 * message like the original demo's Go client, answer each PartialSig with a FullSig, stop cleanly.
 */
import {
  type AllowList,
  attachCosigner,
  buildSignRefused,
  type Delivery,
  HandshakeRefusedError,
  InvalidUrlError,
  type Musig2KeyStore,
  musig2KeySetupProtocol,
  musig2SignProtocol,
  type ProtocolChoice,
  RelayClient,
  RelayUnreachableError,
  SessionManager,
  type SigningBackend,
  type TokenPlacement,
} from '@mpc-relay/signer';

export interface SignerRunOptions {
  url: string;
  cliId: string;
  token: string;
  tokenIn: TokenPlacement;
  /** `v2` (acks, redelivery; falls back to v1 on a relay without it) or `v1`. */
  protocol: ProtocolChoice;
  json: boolean;
  /** Consecutive failed reconnect attempts before giving up (0: never give up). */
  maxRetries: number;
  /** `single-key` (the backend below) or `musig2` (the pairs in `musig2.store`). */
  scheme: 'single-key' | 'musig2';
  backend?: SigningBackend;
  musig2?: { store: Musig2KeyStore; digestPolicy: 'bound' | 'any' };
  /** The mpcs this co-signer signs for. */
  allow: AllowList;
  /** Where the key came from, for the start line (never the key itself). */
  keySource: string;
  warnings: string[];
  /** Reconnect backoff bounds (tests shorten them). */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const EXIT_OK = 0;
/** The relay refused us or could not be reached. */
export const EXIT_CONNECTION = 1;
/** Bad usage or configuration: URL, ids, key. */
export const EXIT_USAGE = 2;

type Event = Record<string, unknown> & { event: string };

/** Runs until a signal or a terminal failure; resolves with the exit code. */
export async function runSigner(
  options: SignerRunOptions,
  output: Output,
  stopSignal: Promise<string>,
): Promise<number> {
  const emit = (event: Event, human: string | undefined, stream: 'out' | 'err' = 'out') => {
    if (options.json) output.out(JSON.stringify({ time: new Date().toISOString(), ...event }));
    else if (human !== undefined) output[stream](human);
  };

  let client: RelayClient;
  try {
    client = new RelayClient({
      url: options.url,
      peer: { type: 'cli', id: options.cliId },
      token: options.token,
      tokenIn: options.tokenIn,
      protocol: options.protocol,
      reconnect: {
        retryInitialConnect: false,
        maxAttempts: options.maxRetries > 0 ? options.maxRetries : Number.POSITIVE_INFINITY,
        ...(options.initialDelayMs === undefined ? {} : { initialDelayMs: options.initialDelayMs }),
        ...(options.maxDelayMs === undefined ? {} : { maxDelayMs: options.maxDelayMs }),
      },
    });
  } catch (error) {
    emit({ event: 'error', code: 'INVALID_CONFIG', message: (error as Error).message }, undefined);
    output.err(`mpc-relay-signer: ${(error as Error).message}`);
    return EXIT_USAGE;
  }

  const started = {
    event: 'start',
    url: client.displayUrl,
    cliId: options.cliId,
    protocol: options.protocol,
    scheme: options.scheme,
  };
  if (options.scheme === 'single-key' && options.backend) {
    emit(
      {
        ...started,
        backend: options.backend.name,
        publicKey: options.backend.publicKeyHex,
        keySource: options.keySource,
      },
      `🔑 Signer public key: ${options.backend.publicKeyHex} (${options.backend.name}; key from ${options.keySource})`,
    );
  } else if (options.musig2) {
    const { store } = options.musig2;
    emit(
      {
        ...started,
        keyDir: store.dir,
        pairs: store.peers.map((peer) => store.cached(peer)?.describe()),
      },
      `🔑 MuSig2 co-signer (BIP-340/MuSig2): pairs in ${store.dir}${store.peers.length ? `: ${store.peers.join(', ')}` : ' (none yet: an mpc runs a key setup)'}`,
    );
  }
  emit(
    { event: 'allowList', any: options.allow.any, mpcIds: options.allow.ids },
    options.allow.any
      ? '⚠️  --allow-any-mpc: signing for ANY mpc that reaches this co-signer'
      : `🛡️  Signing only for: ${options.allow.description}`,
    options.allow.any ? 'err' : 'out',
  );
  for (const warning of options.warnings)
    emit({ event: 'warning', message: warning }, `⚠️  ${warning}`, 'err');

  client.on('state', (change) => {
    const event: Event = { event: 'state', state: change.state };
    if (change.state === 'open') event.protocol = client.protocol;
    if (change.attempt !== undefined) event.attempt = change.attempt;
    if (change.delayMs !== undefined) event.delayMs = change.delayMs;
    if (change.reason !== undefined) event.reason = change.reason;
    let human: string | undefined;
    switch (change.state) {
      case 'connecting':
        human = `🔌 Connecting to ${client.displayUrl} as cli ${options.cliId}${change.attempt && change.attempt > 1 ? ` (attempt ${change.attempt})` : ''}`;
        break;
      case 'open':
        // The original demo's line when speaking v1; v2 says so (a fallback was announced just before).
        human = client.protocol === 'v2' ? '✅ Connected (protocol v2)' : '✅ Connected';
        break;
      case 'reconnecting':
        // The library's fallback from v2 to v1 is not a lost connection: say what it is.
        human = change.reason?.includes('protocol v2')
          ? `↩️  The relay does not speak protocol v2: using protocol v1`
          : `🔁 Connection lost (${change.reason ?? 'unknown'}); reconnecting in ${change.delayMs} ms`;
        break;
      case 'closed':
        // A terminal failure gets its own one-line error on stderr instead.
        human = change.error
          ? undefined
          : `👋 Connection closed${change.reason ? ` (${change.reason})` : ''}`;
        break;
    }
    emit(event, human);
  });
  client.on('connectionId', (connectionId) =>
    emit({ event: 'connectionId', connectionId }, `🆔 Connection id: ${connectionId}`),
  );
  // The original demo's line, whatever the protocol: v2's ids are for --json only.
  client.on('message', (delivery: Delivery) =>
    emit(
      {
        event: 'message',
        operationType: delivery.operationType,
        from: delivery.from,
        ...(delivery.to === undefined ? {} : { to: delivery.to }),
        message: delivery.message,
        ...(delivery.messageId === undefined ? {} : { messageId: delivery.messageId }),
      },
      `📨 Message from ${delivery.from}: ${JSON.stringify(delivery.message)}`,
    ),
  );
  client.on('relayError', (report) =>
    emit(
      { event: 'relayError', source: report.source, code: report.code, message: report.message },
      `⚠️  Relay error${report.code ? ` ${report.code}` : ''}: ${report.message}`,
      'err',
    ),
  );
  client.on('badFrame', (report) =>
    emit(
      { event: 'badFrame', code: report.code, message: report.message, raw: report.raw },
      `⚠️  Ignored a bad frame (${report.code}): ${report.message}`,
      'err',
    ),
  );

  if (options.musig2) attachMusig2(client, options.musig2, options.allow, emit);
  else if (options.backend)
    attachCosigner(
      client,
      options.backend,
      {
        onSigned: ({ from, fullSig }) =>
          emit(
            { event: 'signed', to: from, transactionId: fullSig.transactionId, fullSig },
            `📤 FullSig sent to ${from} for transaction ${fullSig.transactionId}`,
          ),
        onRefused: ({ from, refusal }) =>
          emit(
            { event: 'refused', to: from, ...refusal },
            `⛔ SignRefused sent to ${from} for transaction ${refusal.transactionId ?? '?'}: ${refusal.code} ${refusal.reason}`,
            'err',
          ),
        onSendFailed: ({ transactionId, error }) =>
          emit(
            { event: 'sendFailed', transactionId, message: error.message },
            `⚠️  Could not send the answer for transaction ${transactionId ?? '?'}: ${error.message}`,
            'err',
          ),
      },
      { allowMpc: options.allow.allows },
    );

  const terminal = new Promise<Error>((resolve) => {
    client.onError((error) => {
      if (client.terminalError === error) resolve(error);
      else emit({ event: 'warning', message: error.message }, `⚠️  ${error.message}`, 'err');
    });
  });
  client.connect().catch(() => {}); // failures arrive through `terminal`

  const outcome = await Promise.race([
    stopSignal.then((signal) => ({ signal })),
    terminal.then((error) => ({ error })),
  ]);
  if ('signal' in outcome) {
    emit({ event: 'stop', signal: outcome.signal }, `👋 ${outcome.signal}: shutting down`);
    await client.close(`signer stopped (${outcome.signal})`);
    emit({ event: 'exit', code: EXIT_OK }, undefined);
    return EXIT_OK;
  }
  const error = outcome.error;
  const code = error instanceof InvalidUrlError ? EXIT_USAGE : EXIT_CONNECTION;
  let line = error.message;
  if (error instanceof HandshakeRefusedError) {
    const hint =
      error.statusCode === 401
        ? ' (no credentials: give --token)'
        : error.statusCode === 403
          ? ' (the token was denied)'
          : '';
    line = `${error.message}${hint}`;
  } else if (error instanceof RelayUnreachableError) {
    line = `cannot reach the relay at ${client.displayUrl}: ${error.message}`;
  }
  emit({ event: 'error', code: (error as { code?: string }).code ?? 'ERROR', message: line }, undefined);
  emit({ event: 'exit', code }, undefined);
  output.err(`mpc-relay-signer: ${line}`);
  return code;
}

type Emit = (event: Event, human: string | undefined, stream?: 'out' | 'err') => void;

/** MuSig2: key setups and signing sessions from allowed mpcs, each line of the exchange logged. */
function attachMusig2(
  client: RelayClient,
  musig2: NonNullable<SignerRunOptions['musig2']>,
  allow: AllowList,
  emit: Emit,
): void {
  const { store } = musig2;
  const sessions = new SessionManager(client, {
    allowPeer: allow.allows,
    sealFor: (mpcId) => store.cached(mpcId)?.seal,
  });
  sessions
    .register(musig2KeySetupProtocol(store))
    .register(musig2SignProtocol(store, { digestPolicy: musig2.digestPolicy }));
  sessions.on('finished', ({ protocol, peerId, sessionId, result }) => {
    if (protocol === 'musig2-keysetup') {
      const pair = result as { aggregatePublicKey: string; taprootAddress: string; sealed: boolean };
      emit(
        { event: 'keySetup', mpcId: peerId, sessionId, ...pair },
        `🔑 MuSig2 key setup with ${peerId}: aggregate key ${pair.aggregatePublicKey}, Taproot address ${pair.taprootAddress}${pair.sealed ? ', sealed payloads' : ''}`,
      );
      return;
    }
    const signed = result as {
      transactionId: string;
      signature: string;
      messageDigest: string;
      fullSig: unknown;
    };
    emit(
      {
        event: 'signed',
        to: peerId,
        sessionId,
        transactionId: signed.transactionId,
        fullSig: signed.fullSig,
      },
      `📤 FullSig sent to ${peerId} for transaction ${signed.transactionId} (BIP-340/MuSig2, session ${sessionId})`,
    );
  });
  sessions.on('aborted', ({ peerId, sessionId, code, reason, by }) =>
    emit(
      { event: by === 'self' ? 'refused' : 'aborted', to: peerId, sessionId, code, reason, by },
      by === 'self'
        ? `⛔ SignRefused sent to ${peerId} for session ${sessionId}: ${code} ${reason}`
        : `⛔ ${peerId} aborted session ${sessionId}: ${code} ${reason}`,
      'err',
    ),
  );
  sessions.on('refused', ({ peerId, sessionId, operationType, code, reason }) =>
    emit(
      { event: 'refused', to: peerId, sessionId, operationType, code, reason },
      `⛔ SignRefused sent to ${peerId} for ${operationType} (session ${sessionId}): ${code} ${reason}`,
      'err',
    ),
  );
  sessions.on('dropped', ({ peerId, sessionId, operationType, reason }) =>
    emit(
      { event: 'dropped', from: peerId, sessionId, operationType, reason },
      `↪️  Dropped ${operationType} from ${peerId}: ${reason}`,
      'err',
    ),
  );
  sessions.on('error', (error) =>
    emit({ event: 'warning', message: error.message }, `⚠️  ${error.message}`, 'err'),
  );
  // A single-key PartialSig (no scheme, not sealed) has no session here: say so rather than stay silent.
  client.onOperation('PartialSig', (delivery) => {
    const message = delivery.message as Record<string, unknown> | null;
    if (message === null || typeof message !== 'object' || 'scheme' in message || 'sealed' in message) return;
    const allowed = allow.allows(delivery.from);
    const refusal = buildSignRefused(
      message,
      allowed ? 'UNSUPPORTED_SCHEME' : 'NOT_ALLOWED',
      allowed
        ? 'this co-signer signs BIP-340/MuSig2 sessions (SignRequest), not single-key PartialSigs'
        : `${delivery.from} is not on this co-signer's allow-list`,
    );
    emit(
      { event: 'refused', to: delivery.from, ...refusal },
      `⛔ SignRefused sent to ${delivery.from} for transaction ${refusal.transactionId ?? '?'}: ${refusal.code} ${refusal.reason}`,
      'err',
    );
    client
      .send({
        operationType: 'SignRefused',
        message: refusal,
        ...(delivery.sessionId === undefined ? {} : { sessionId: delivery.sessionId }),
      })
      .catch(() => {});
  });
}
