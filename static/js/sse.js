// A Server-Sent Events parser over a fetch() body. EventSource cannot POST nor send the CSRF header,
// so the stream is read with a ReadableStream reader (WHATWG "event stream interpretation").

export async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let name = "";
  let data = [];
  let id = null;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (;;) {
        const end = buffer.search(/\r\n|\r|\n/);
        // A lone "\r" at the end of the buffer may be the first half of "\r\n": wait for more.
        if (end < 0 || (buffer[end] === "\r" && end === buffer.length - 1)) break;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith("\r\n", end) ? 2 : 1));
        if (line === "") {
          if (data.length) yield { event: name || "message", data: data.join("\n"), id };
          name = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // keepalive comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let fieldValue = colon < 0 ? "" : line.slice(colon + 1);
        if (fieldValue.startsWith(" ")) fieldValue = fieldValue.slice(1);
        if (field === "event") name = fieldValue;
        else if (field === "data") data.push(fieldValue);
        else if (field === "id") id = fieldValue;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
