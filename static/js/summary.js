// "Résumer une requête JQL" and "Résumer ce projet": POST /ai/summarize-jql/stream, read with fetch
// + a stream reader (CSRF header, Arrêter aborts: the server cancels Jira paging and the LLM calls).
// A progress bar follows the `log` steps, the narrative shows as it is written (text only), and
// the `result` is rendered as the synchronous endpoint's answer was. The live region says only the
// start, the end and errors. The synchronous endpoint stays, for scripts.
import { ApiError } from "./api.js";
import { el, formatDate, language, plural, t } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { reusedChunks, stepText } from "./progress.js";
import { coverageLine, linkedText, renderBreakdown, renderList, renderQuality } from "./render.js";
import { postEvents } from "./sse.js";

const form = () => document.getElementById("summary-form");
const field = () => document.getElementById("jql");
const fieldError = () => document.getElementById("jql-error");
const status = () => document.getElementById("summary-status");
const errorSlot = () => document.getElementById("summary-error");
const output = () => document.getElementById("summary-result");
const $ = (id) => document.getElementById(id);

let controller = null;

function setFieldError(message) {
  const error = fieldError();
  error.textContent = message ?? "";
  error.hidden = !message;
  if (message) field().setAttribute("aria-invalid", "true");
  else field().removeAttribute("aria-invalid");
}

function renderSummary(summary, jql) {
  const titleId = "summary-result-title";
  const coverage = summary.coverage ?? {};
  const stats = summary.stats ?? {};
  const regenerate = el("button", { type: "button", className: "button", id: "summary-regenerate", text: t("regenerate") });
  regenerate.addEventListener("click", () => runSummary(jql, { refresh: true, focusResult: true }));
  const meta = el(
    "ul",
    { className: "meta" },
    el("li", { className: "coverage", text: coverageLine(coverage.analyzed, coverage.total) }),
    coverage.truncated ? el("li", { text: t("coverage_truncated", { analyzed: coverage.analyzed }) }) : null,
    el("li", { className: summary.cached ? "cached" : "fresh", text: t(summary.cached ? "cached" : "fresh", { date: formatDate(summary.generated_at) }) }),
    summary.model ? el("li", { text: t("model", { provider: summary.provider ?? "", model: summary.model }) }) : null,
  );
  return el(
    "article",
    { className: "card", "aria-labelledby": titleId },
    el("h3", { id: titleId, tabindex: "-1", text: t("summary_title") }),
    el("p", { className: "query" }, el("code", { text: jql })),
    meta,
    renderQuality(summary.quality),
    el("section", { className: "result-part" }, el("h4", { text: t("narrative") }), el("p", { className: "narrative" }, linkedText(summary.summary))),
    renderList(t("highlights"), summary.highlights),
    renderList(t("risks"), summary.risks),
    renderList(t("blockers"), summary.blockers),
    renderList(t("next_steps"), summary.next_steps),
    el(
      "section",
      { className: "result-part" },
      el("h4", { text: t("stats") }),
      el(
        "div",
        { className: "stats-grid" },
        renderBreakdown(t("by_status"), stats.by_status, t("status"), t("none_status")),
        renderBreakdown(t("by_priority"), stats.by_priority, t("value"), t("none_priority")),
        renderBreakdown(t("by_assignee"), stats.by_assignee, t("value"), t("none_assignee")),
        renderBreakdown(t("by_type"), stats.by_type, t("value"), t("none_type")),
      ),
    ),
    el("div", { className: "actions" }, regenerate),
  );
}

function setRunning(running) {
  const submit = $("summary-submit");
  const stop = $("summary-stop");
  const hadFocus = document.activeElement === stop;
  submit.disabled = running;
  stop.disabled = !running;
  output().setAttribute("aria-busy", running ? "true" : "false");
  // The pressed button may be disabled now, or gone (Régénérer): keep the focus on a live control.
  if (running) stop.focus();
  else if (hadFocus) submit.focus();
}

/** The progress block (bar, its text, the resumed note) and the provisional narrative. */
class SummaryView {
  constructor() {
    this.box = $("summary-progress");
    this.bar = $("summary-progress-bar");
    this.text = $("summary-progress-text");
    this.note = $("summary-progress-note");
    this.reused = 0;
    this.narrative = null;
    this.box.hidden = false;
    this.bar.hidden = false;
    this.box.dataset.state = "running";
    this.note.hidden = true;
    this.show({ text: t("progress_start") });
    output().replaceChildren();
  }

  /** `done` of `total` on the bar when a total is known, else an indeterminate bar (no value). */
  show({ text, done = null, total = null }) {
    if (Number.isFinite(total) && total > 0) {
      this.bar.max = total;
      this.bar.value = Math.min(Number.isFinite(done) ? done : 0, total);
    } else {
      this.bar.removeAttribute("value");
      this.bar.removeAttribute("max");
    }
    if (text) this.text.textContent = text;
  }

  showReused(count) {
    if (count <= this.reused) return;
    this.reused = count;
    this.note.textContent = plural("progress_reused", count);
    this.note.hidden = false;
  }

  log(data) {
    // Steps without a measure (combine, queue, load, think) make the bar indeterminate again.
    this.show({ text: stepText(data), done: data.done, total: data.total });
    this.showReused(reusedChunks(data));
  }

  delta({ text }) {
    if (!this.narrative) {
      this.narrative = el("p", { className: "narrative stream-text" });
      output().replaceChildren(
        el(
          "section",
          { className: "card provisional", "aria-labelledby": "summary-provisional-title" },
          el("h3", { id: "summary-provisional-title", text: t("narrative_provisional") }),
          this.narrative,
        ),
      );
      this.show({ text: t("progress_writing") });
    }
    this.narrative.append(String(text ?? ""));
  }

  reconnecting({ replayed }) {
    this.box.dataset.state = "reconnecting";
    this.show({ text: t("progress_reconnecting") });
    // Without an id to resume from, the server sends the run again from its start.
    if (!replayed) {
      this.narrative = null;
      output().replaceChildren();
    }
  }

  finish(coverage) {
    this.showReused(coverage?.chunks_reused ?? 0);
    this.box.hidden = true;
    this.box.dataset.state = "done";
    if (this.reused > 0) output().querySelector(".meta")?.append(el("li", { className: "reused", text: plural("progress_reused", this.reused) }));
  }

  stopped() {
    this.box.dataset.state = "cancelled";
    this.bar.hidden = true;
    this.text.textContent = t("summary_stopped");
  }

  failed() {
    this.box.hidden = true;
    this.box.dataset.state = "error";
    output().replaceChildren();
  }
}

function hideProgress() {
  $("summary-progress").hidden = true;
  delete $("summary-progress").dataset.state;
}

export async function runSummary(jql, { refresh = false, focusResult = false } = {}) {
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  clearError(errorSlot());
  setRunning(true);
  status().textContent = t("summary_running");
  const view = new SummaryView();
  const body = { jql, language: language(), refresh };
  let lastId = null;
  let summary = null;
  const onEvent = (message, data) => {
    if (message.id) lastId = message.id;
    if (message.event === "log") view.log(data);
    else if (message.event === "delta") view.delta(data);
    else if (message.event === "result" && data.content && typeof data.content === "object") {
      summary = data.content;
      output().replaceChildren(renderSummary(summary, jql));
    } else if (message.event === "done") {
      view.finish(data.coverage);
      return "done";
    } else if (message.event === "error") {
      throw new ApiError({ status: 200, code: data.code, detail: data.detail ?? "", retryAfter: data.retry_after ?? null });
    }
    return null;
  };
  try {
    // One automatic reconnect when the connection drops mid-run: the server replays what followed
    // the last id (or the whole run) and follows the run if it is still going.
    let ended = await postEvents("/ai/summarize-jql/stream", body, signal, onEvent);
    if (!ended) {
      view.reconnecting({ replayed: lastId !== null });
      ended = await postEvents("/ai/summarize-jql/stream", body, signal, onEvent, lastId);
    }
    if (!ended) throw new ApiError({ status: 0, code: "stream_cut" });
    const coverage = summary?.coverage ?? {};
    status().textContent = `${t("summary_done")} ${coverageLine(coverage.analyzed, coverage.total)}.`;
    if (focusResult) $("summary-result-title")?.focus();
  } catch (error) {
    if (controller?.signal !== signal) return; // a newer run, or a reset, owns the page now
    if (error.name === "AbortError") {
      view.stopped();
      status().textContent = t("summary_stopped");
    } else if (error.code === "stream_cut") {
      view.failed();
      errorSlot().replaceChildren(el("div", { className: "error-box", "data-code": "stream_cut" }, el("p", { text: t("summary_cut") })));
      status().textContent = t("err_announce", { message: t("summary_cut") });
    } else {
      view.failed();
      status().textContent = showError(errorSlot(), error instanceof ApiError ? error : new ApiError({ status: 0, code: "network_error" }));
    }
  } finally {
    if (controller?.signal === signal) {
      controller = null;
      setRunning(false);
    }
  }
}

/** Called by "Résumer ce projet": fill the field, run, and take the user to the result. */
export function summarizeQuery(jql) {
  field().value = jql;
  setFieldError(null);
  document.getElementById("summary").scrollIntoView({ block: "start" });
  return runSummary(jql, { focusResult: true });
}

export function resetSummary() {
  const running = controller;
  controller = null;
  running?.abort();
  setRunning(false);
  hideProgress();
  output().replaceChildren();
  clearError(errorSlot());
}

export function initSummary() {
  form().addEventListener("submit", (event) => {
    event.preventDefault();
    const jql = field().value.trim();
    if (!jql) {
      setFieldError(t("jql_required"));
      field().focus();
      return;
    }
    setFieldError(null);
    runSummary(jql);
  });
  $("summary-stop").addEventListener("click", () => controller?.abort());
  for (const button of form().querySelectorAll("button[data-jql]")) {
    button.addEventListener("click", () => {
      field().value = button.dataset.jql;
      setFieldError(null);
      field().focus();
    });
  }
}
