// "Analyser un ticket": sync (POST /ai/analyze-issue) and live (POST /ai/analyze-issue/stream, SSE
// read with fetch + a stream reader so that the CSRF header can be sent and Arrêter can abort).
import { ApiError, errorFrom, requestInit, sendJSON } from "./api.js";
import { el, formatDate, formatNumber, language, t } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { ISSUE_KEY } from "./keys.js";
import { stepText } from "./progress.js";
import { issueLink, linkedText, renderList, renderQuality, renderValue } from "./render.js";
import { readEvents } from "./sse.js";

const $ = (id) => document.getElementById(id);

let controller = null;

function setFieldError(message) {
  const error = $("issue-key-error");
  error.textContent = message ?? "";
  error.hidden = !message;
  if (message) $("issue-key").setAttribute("aria-invalid", "true");
  else $("issue-key").removeAttribute("aria-invalid");
}

function readKey() {
  const key = $("issue-key").value.trim().toUpperCase();
  if (!key) setFieldError(t("key_required"));
  else if (!ISSUE_KEY.test(key)) setFieldError(t("key_invalid", { key }));
  else {
    setFieldError(null);
    return key;
  }
  $("issue-key").focus();
  return null;
}

function header(key) {
  return el("h3", { id: "analysis-result-title", tabindex: "-1" }, `${t("analysis_title", { key: "" }).trim()} `, issueLink(key));
}

function commentsLine(coverage) {
  if (!coverage) return null;
  return el("li", { text: t("comments_coverage", { analyzed: formatNumber(coverage.comments_analyzed ?? 0), total: formatNumber(coverage.comments_total ?? 0) }) });
}

function renderAnalysis(analysis) {
  const key = analysis.issue_key;
  const criteria = analysis.acceptance_criteria ?? {};
  return el(
    "article",
    { className: "card", "aria-labelledby": "analysis-result-title" },
    header(key),
    el(
      "ul",
      { className: "meta" },
      commentsLine(analysis.coverage),
      el("li", { className: analysis.cached ? "cached" : "fresh", text: t(analysis.cached ? "cached" : "fresh", { date: formatDate(analysis.generated_at) }) }),
      analysis.model ? el("li", { text: t("model", { provider: analysis.provider ?? "", model: analysis.model }) }) : null,
    ),
    renderQuality(analysis.quality),
    el("section", { className: "result-part" }, el("h4", { text: t("narrative") }), el("p", { className: "narrative" }, linkedText(analysis.summary))),
    el("section", { className: "result-part" }, el("h4", { text: t("status_assessment") }), el("p", {}, linkedText(analysis.status_assessment))),
    renderList(t("risks"), analysis.risks),
    renderList(t("blockers"), analysis.blockers),
    el(
      "section",
      { className: "result-part" },
      el("h4", { text: t("acceptance_criteria") }),
      el("p", { text: t(criteria.present ? "criteria_present" : "criteria_absent") }),
      criteria.assessment ? el("p", {}, linkedText(criteria.assessment)) : null,
      renderList(t("gaps"), criteria.gaps, "h5"),
    ),
    renderList(t("next_actions"), analysis.next_actions),
    renderList(t("open_questions"), analysis.open_questions),
  );
}

function setStreaming(streaming) {
  $("analyze-stream").disabled = streaming;
  $("analyze-sync").disabled = streaming;
  const stop = $("analyze-stop");
  const hadFocus = document.activeElement === stop;
  stop.disabled = !streaming;
  $("analysis-result").setAttribute("aria-busy", streaming ? "true" : "false");
  // The pressed button is disabled while streaming: keep the focus on a live control.
  if (streaming) stop.focus();
  else if (hadFocus) $("analyze-stream").focus();
}

function announce(message) {
  $("analysis-status").textContent = message;
}

async function analyzeSync(key) {
  controller?.abort();
  clearError($("analysis-error"));
  $("analysis-steps").hidden = true;
  $("analysis-result").setAttribute("aria-busy", "true");
  announce(t("analysis_running", { key }));
  try {
    const analysis = await sendJSON("POST", "/ai/analyze-issue", { issue_key: key, language: language() });
    $("analysis-result").replaceChildren(renderAnalysis(analysis));
    announce(t("analysis_done", { key }));
  } catch (error) {
    $("analysis-result").replaceChildren();
    announce(showError($("analysis-error"), error));
  } finally {
    $("analysis-result").setAttribute("aria-busy", "false");
  }
}

class StreamView {
  constructor(key) {
    this.key = key;
    this.sections = new Map();
    this.body = el("div", { className: "stream-sections" });
    this.meta = el("ul", { className: "meta" });
    this.steps = $("analysis-steps");
    this.steps.replaceChildren();
    this.steps.hidden = false;
    $("analysis-result").replaceChildren(el("article", { className: "card", "aria-labelledby": "analysis-result-title" }, header(key), this.meta, this.body));
  }

  section(name) {
    let entry = this.sections.get(name);
    if (!entry) {
      const label = t(`section_${name}`) !== `section_${name}` ? t(`section_${name}`) : name.replace(/_/g, " ");
      const text = el("p", { className: "stream-text" });
      const content = el("div", { className: "stream-content" }, text);
      const node = el("section", { className: "result-part stream-section", "data-section": name }, el("h4", { text: label }), content);
      this.body.append(node);
      entry = { node, content, text };
      this.sections.set(name, entry);
    }
    return entry;
  }

  log(data) {
    for (const item of this.steps.querySelectorAll("li[aria-current]")) {
      item.removeAttribute("aria-current");
      item.classList.add("done");
    }
    // The summary's progress words (progress.js), so that both features read alike.
    this.steps.append(el("li", { "aria-current": "step", "data-step": data.step ?? "" }, stepText(data) ?? String(data.step ?? "")));
  }

  delta({ section, text }) {
    this.section(section ?? "synthesis").text.append(String(text ?? ""));
  }

  result({ section, content }) {
    const entry = this.section(section ?? "synthesis");
    entry.node.dataset.complete = "true";
    if (typeof content === "string") entry.text.textContent = content;
    else entry.content.replaceChildren(renderValue(content));
  }

  finish({ coverage, duration_ms, quality }) {
    for (const item of this.steps.querySelectorAll("li")) {
      item.removeAttribute("aria-current");
      item.classList.add("done");
    }
    this.meta.replaceChildren(
      ...[commentsLine(coverage), duration_ms ? el("li", { text: t("duration", { seconds: formatNumber(Math.round(duration_ms / 100) / 10) }) }) : null].filter(Boolean),
    );
    const checks = renderQuality(quality);
    if (checks) this.meta.after(checks);
  }
}

async function analyzeStream(key) {
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  clearError($("analysis-error"));
  setStreaming(true);
  announce(t("stream_started", { key }));
  const view = new StreamView(key);
  let ended = false;
  try {
    const response = await fetch("/ai/analyze-issue/stream", requestInit("POST", { issue_key: key, language: language() }, signal, "text/event-stream"));
    if (!response.ok) throw await errorFrom(response);
    for await (const message of readEvents(response.body)) {
      let data = {};
      try {
        data = JSON.parse(message.data);
      } catch {
        continue;
      }
      if (message.event === "log") view.log(data);
      else if (message.event === "delta") view.delta(data);
      else if (message.event === "result") view.result(data);
      else if (message.event === "done") {
        view.finish(data);
        announce(t("stream_done", { key }));
        ended = true;
        break;
      } else if (message.event === "error") {
        ended = true;
        throw new ApiError({ status: 200, code: data.code, detail: data.detail, retryAfter: data.retry_after ?? null });
      }
    }
    if (!ended) throw new ApiError({ status: 0, code: "stream_cut" });
  } catch (error) {
    if (error.name === "AbortError") {
      announce(t("stream_stopped"));
    } else if (error.code === "stream_cut") {
      announce(t("stream_cut"));
      $("analysis-error").replaceChildren(el("div", { className: "error-box", "data-code": "stream_cut" }, el("p", { text: t("stream_cut") })));
    } else if (error instanceof ApiError) {
      announce(showError($("analysis-error"), error));
    } else {
      announce(showError($("analysis-error"), new ApiError({ status: 0, code: "network_error" })));
    }
  } finally {
    // A newer stream may own the controls already (this one was aborted to start it).
    if (controller === null || controller.signal === signal) {
      controller = null;
      setStreaming(false);
    }
  }
}

export function resetAnalysis() {
  controller?.abort();
  $("analysis-result").replaceChildren();
  $("analysis-steps").replaceChildren();
  $("analysis-steps").hidden = true;
  clearError($("analysis-error"));
}

export function initAnalysis() {
  $("analysis-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = readKey();
    if (key) analyzeSync(key);
  });
  $("analyze-stream").addEventListener("click", () => {
    const key = readKey();
    if (key) analyzeStream(key);
  });
  $("analyze-stop").addEventListener("click", () => controller?.abort());
}
