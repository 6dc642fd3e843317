// JSON calls to the public API: same origin, the session cookie, and the CSRF token on unsafe methods.

export class ApiError extends Error {
  constructor({ status, code, detail = "", retryAfter = null }) {
    super(`${status} ${code}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

export function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export function requestInit(method, body, signal, accept = "application/json") {
  const headers = { Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  return {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: "same-origin",
    cache: "no-store",
  };
}

export async function errorFrom(response) {
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = {};
  }
  const retry = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return new ApiError({
    status: response.status,
    code: typeof data.code === "string" ? data.code : response.status === 401 ? "not_authenticated" : "internal_error",
    detail: typeof data.detail === "string" ? data.detail : "",
    retryAfter: Number.isFinite(retry) ? retry : null,
  });
}

export async function send(method, path, { body, signal, accept } = {}) {
  let response;
  try {
    response = await fetch(path, requestInit(method, body, signal, accept));
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ status: 0, code: "network_error" });
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function getJSON(path, options = {}) {
  return (await send("GET", path, options)).json();
}

export async function sendJSON(method, path, body, options = {}) {
  return (await send(method, path, { ...options, body })).json();
}
