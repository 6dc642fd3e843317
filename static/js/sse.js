// A Server-Sent Events parser over a fetch() body. EventSource cannot POST nor send the CSRF header,
// so the stream is read with a ReadableStream reader (WHATWG "event stream interpretation").
import { ApiError, errorFrom, requestInit } from "./api.js";

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

/** POSTs `body` to a stream endpoint (CSRF header, `Last-Event-ID` when `lastId`) and hands each
 * event to `onEvent(message, data)`: true once it returned "done", false when the connection closed
 * or dropped before. A refused request (an HTTP status) and an `onEvent` that throws reject. */
export async function postEvents(path, body, signal, onEvent, lastId = null) {
  const init = requestInit("POST", body, signal, "text/event-stream");
  if (lastId) init.headers["Last-Event-ID"] = lastId;
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ status: 0, code: "network_error" });
  }
  if (!response.ok) throw await errorFrom(response);
  try {
    for await (const message of readEvents(response.body)) {
      if (signal.aborted) throw new DOMException("aborted", "AbortError");
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        continue;
      }
      if (onEvent(message, data) === "done") return true;
    }
  } catch (error) {
    if (error.name === "AbortError" || error instanceof ApiError) throw error;
    return false; // the connection dropped mid-run
  }
  return false;
}
