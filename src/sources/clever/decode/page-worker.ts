import { parentPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { PageDecoder, scanPage } from './page-decoder.js';
import type { DecodeReply, DecodeRequest, PageKind, PageScan } from './page-decoder.js';
import { transferables } from './record-packer.js';

/**
 * Worker thread entry: decodes Clever list pages (see page-decoder.ts) for a CleverSource. The
 * worker's state (its decoder, the pages waiting for their second step) lives in {@link servePages},
 * made when the thread starts; this module holds none.
 */

/** Answers the decode requests that arrive on `port` (see DecodeRequest) until the thread ends. */
export function servePages(port: MessagePort): void {
  const decoder = new PageDecoder();
  /** Pages scanned and waiting for their `finish` (or `drop`), by request id. */
  const scanned = new Map<number, { bytes: Uint8Array; what: PageKind; scan: PageScan | null }>();

  const handle = (m: DecodeRequest): DecodeReply | null => {
    switch (m.type) {
      case 'decode':
        return { id: m.id, result: decoder.decode(m.bytes, m.what) };
      case 'scan': {
        const scan = scanPage(m.bytes, m.what);
        scanned.set(m.id, { bytes: m.bytes, what: m.what, scan });
        return { id: m.id, scan: scan ? { ids: scan.list.ids, raws: scan.raws } : null };
      }
      case 'finish': {
        const page = scanned.get(m.id);
        if (!page) throw new Error(`no scanned page ${m.id}`);
        scanned.delete(m.id);
        return { id: m.id, result: decoder.decode(page.bytes, page.what, page.scan, m.skip) };
      }
      case 'drop':
        scanned.delete(m.id);
        return null;
    }
  };

  port.on('message', (m: DecodeRequest) => {
    let reply: DecodeReply | null;
    try {
      reply = handle(m);
    } catch (err) {
      scanned.delete(m.id);
      reply = { id: m.id, crash: err instanceof Error ? err.message : String(err) };
    }
    if (reply === null) return;
    port.postMessage(
      reply,
      'result' in reply && reply.result.ok ? transferables(reply.result.page.records) : [],
    );
  });
}

// This file is the worker's entry script (see decoder-thread.ts): loaded as such, it serves its port.
if (parentPort) servePages(parentPort);
