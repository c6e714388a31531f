/**
 * One fuzzing connection: sends arbitrary data, then a marker frame (`{"action":"fuzz-end-N"}`,
 * answered UNKNOWN_ACTION naming it); everything received in between is the relay's answer to the
 * data. Reopens itself after the relay closed it.
 */
import { decodeRelayFrame } from '@mpc-relay/protocol';
import type { PeerRef } from '@mpc-relay/testing';
import { V1Socket } from './v1-client.js';

export type Exchange =
  | { closed: false; answers: string[] }
  | { closed: true; code: number; reason: string; answers: string[] };

export class FuzzConnection {
  socket?: V1Socket;
  opened = 0;
  #n = 0;

  constructor(
    readonly url: () => string,
    readonly peer: PeerRef,
    /** Subprotocols to offer (`['mpc-relay.v2']` for a v2 connection). */
    readonly protocols: string[] = [],
  ) {}

  async ensure(): Promise<V1Socket> {
    if (this.socket?.isOpen) return this.socket;
    this.socket = await V1Socket.openPeer(this.url(), this.peer, { protocols: this.protocols });
    this.opened += 1;
    return this.socket;
  }

  /** Sends `write(ws)` then the marker; resolves with the answers, or how the relay closed. */
  async exchange(write: (socket: V1Socket) => void): Promise<Exchange> {
    const socket = await this.ensure();
    const mark = socket.frames.length;
    const marker = `fuzz-end-${++this.#n}`;
    write(socket);
    if (socket.isOpen) socket.send({ action: marker });
    try {
      const end = await socket.waitFrame((text) => text.includes(marker), mark, 30_000);
      return { closed: false, answers: socket.frames.slice(mark, end.index) };
    } catch (error) {
      if (socket.closeCode === undefined) throw error;
      return {
        closed: true,
        code: socket.closeCode,
        reason: socket.closeReason ?? '',
        answers: socket.frames.slice(mark),
      };
    }
  }

  close(): void {
    this.socket?.close();
  }
}

/** Every frame is something a client can decode: a relay frame or API Gateway's own. */
export function allDecodable(answers: readonly string[]): boolean {
  return answers.every((text) => decodeRelayFrame(text).ok);
}

/** Sends `bytes` as one text message in frames of at most `frameBytes` (continuation frames). */
export function sendFragmented(socket: V1Socket, bytes: Buffer, frameBytes: number): void {
  if (bytes.length <= frameBytes) {
    socket.ws.send(bytes, { binary: false });
    return;
  }
  for (let offset = 0; offset < bytes.length; offset += frameBytes) {
    const end = Math.min(offset + frameBytes, bytes.length);
    socket.ws.send(bytes.subarray(offset, end), { binary: false, fin: end === bytes.length });
  }
}
