import { parentPort } from 'node:worker_threads';
import { decodePage, scanPage, transferables } from './page-decoder.js';
import type { DecodeReply, DecodeRequest, PageKind, PageScan } from './page-decoder.js';

/** Worker thread entry: decodes Clever list pages (see page-decoder.ts) for a CleverSource. */

/** Pages scanned and waiting for their `finish` (or `drop`), by request id. */
const scanned = new Map<number, { bytes: Uint8Array; what: PageKind; scan: PageScan | null }>();

parentPort!.on('message', (m: DecodeRequest) => {
  let reply: DecodeReply | null;
  try {
    reply = handle(m);
  } catch (err) {
    scanned.delete(m.id);
    reply = { id: m.id, crash: err instanceof Error ? err.message : String(err) };
  }
  if (reply === null) return;
  parentPort!.postMessage(
    reply,
    'result' in reply && reply.result.ok ? transferables(reply.result.page) : [],
  );
});

function handle(m: DecodeRequest): DecodeReply | null {
  switch (m.type) {
    case 'decode':
      return { id: m.id, result: decodePage(m.bytes, m.what) };
    case 'scan': {
      const scan = scanPage(m.bytes, m.what);
      scanned.set(m.id, { bytes: m.bytes, what: m.what, scan });
      return { id: m.id, scan: scan ? { ids: scan.list.ids, raws: scan.raws } : null };
    }
    case 'finish': {
      const page = scanned.get(m.id);
      if (!page) throw new Error(`no scanned page ${m.id}`);
      scanned.delete(m.id);
      return { id: m.id, result: decodePage(page.bytes, page.what, page.scan, m.skip) };
    }
    case 'drop':
      scanned.delete(m.id);
      return null;
  }
}
