// "Résumer une requête JQL": POST /ai/summarize-jql, rendered as text with links to Jira.
import { sendJSON } from "./api.js";
import { el, formatDate, language, t } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { coverageLine, linkedText, renderBreakdown, renderList, renderQuality } from "./render.js";

const form = () => document.getElementById("summary-form");
const field = () => document.getElementById("jql");
const fieldError = () => document.getElementById("jql-error");
const status = () => document.getElementById("summary-status");
const errorSlot = () => document.getElementById("summary-error");
const output = () => document.getElementById("summary-result");

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

export async function runSummary(jql, { refresh = false, focusResult = false } = {}) {
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  clearError(errorSlot());
  output().setAttribute("aria-busy", "true");
  status().textContent = t("summary_running");
  try {
    const summary = await sendJSON("POST", "/ai/summarize-jql", { jql, language: language(), refresh }, { signal });
    output().replaceChildren(renderSummary(summary, jql));
    status().textContent = `${t("summary_done")} ${coverageLine(summary.coverage?.analyzed, summary.coverage?.total)}.`;
    if (focusResult) document.getElementById("summary-result-title")?.focus();
  } catch (error) {
    if (error.name === "AbortError") return;
    output().replaceChildren();
    status().textContent = showError(errorSlot(), error);
  } finally {
    if (!signal.aborted) output().setAttribute("aria-busy", "false");
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
  controller?.abort();
  output().replaceChildren();
  output().setAttribute("aria-busy", "false");
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
  for (const button of form().querySelectorAll("button[data-jql]")) {
    button.addEventListener("click", () => {
      field().value = button.dataset.jql;
      setFieldError(null);
      field().focus();
    });
  }
}
