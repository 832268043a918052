import { parentPort } from 'node:worker_threads';
import { decodePage } from './page-decoder.js';
import type { DecodeResult, PageKind } from './page-decoder.js';

/** Worker thread entry: decodes Clever list pages (see page-decoder.ts) for a CleverSource. */

export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  path: string;
  what: PageKind;
}

export type DecodeReply = { id: number; result: DecodeResult } | { id: number; crash: string };

parentPort!.on('message', (m: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    reply = { id: m.id, result: decodePage(m.bytes, m.path, m.what) };
  } catch (err) {
    reply = { id: m.id, crash: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
