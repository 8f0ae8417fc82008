// One WebSocket per training session, speaking the protocol in nnplay/server/protocol.md.
// Text messages are JSON; binary messages are frames: "NNPF", uint32 header length,
// JSON header, then float32 arrays at the offsets the header lists.

export function decodeFrame(buf) {
  const view = new DataView(buf);
  const magic = String.fromCharCode(...new Uint8Array(buf, 0, 4));
  if (magic !== "NNPF") throw new Error("not an nnplay frame");
  const n = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
  const body = 8 + n;
  const arrays = {};
  for (const a of header.arrays) {
    const count = a.shape.reduce((x, y) => x * y, 1);
    arrays[a.name] = { shape: a.shape, data: new Float32Array(buf, body + a.offset, count) };
  }
  return { header, arrays };
}

export class Connection {
  // handlers: {message(obj), frame({header, arrays}), open(), close()}
  constructor(handlers) {
    this.handlers = handlers;
    this.queue = [];
    this.closedByUs = false;
    this.connect();
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.handlers.open?.();
      for (const m of this.queue.splice(0)) ws.send(m);
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") this.handlers.message(JSON.parse(ev.data));
      else this.handlers.frame(decodeFrame(ev.data));
    };
    ws.onclose = () => {
      this.handlers.close?.();
      if (!this.closedByUs) setTimeout(() => this.connect(), 1000);
    };
    this.ws = ws;
  }

  send(obj) {
    const text = JSON.stringify(obj);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    else this.queue.push(text);
  }

  close() {
    this.closedByUs = true;
    this.ws.close();
  }
}
