import { parentPort } from 'node:worker_threads';
import { decodePage, transferables } from './page-decoder.js';
import type { DecodeReply, DecodeRequest } from './page-decoder.js';

/** Worker thread entry: decodes Clever list pages (see page-decoder.ts) for a CleverSource. */

parentPort!.on('message', (m: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    reply = { id: m.id, result: decodePage(m.bytes, m.what) };
  } catch (err) {
    reply = { id: m.id, crash: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(
    reply,
    'result' in reply && reply.result.ok ? transferables(reply.result.page) : [],
  );
});
