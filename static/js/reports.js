// "Rapports": a sprint report (board picker from GET /jira/boards, sprint picker from
// GET /jira/boards/{id}/sprints, the active sprint first) and an epic report (a key). "Générer le
// rapport" streams POST /ai/sprint-report/stream or /ai/epic-report/stream: a progress bar from the
// `log` events, the narrative as written (text only), then the checked report: its facts as tables
// and small bar charts (CSS bars hidden from assistive technology, the numbers as text beside them,
// and the tables as the alternative), the narrative and its lists. "Copier en Markdown" puts the
// report on the clipboard. The live region says only the start, the end and errors.
import { ApiError, getJSON } from "./api.js";
import { el, formatDate, formatNumber, language, plural, t, uniqueId } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { ISSUE_KEY } from "./keys.js";
import { stepText } from "./progress.js";
import { coverageLine, issueLink, linkedText, renderList, renderQuality } from "./render.js";
import { postEvents } from "./sse.js";

const $ = (id) => document.getElementById(id);
const STATES_REPORTED = new Set(["active", "closed"]);

let controller = null;
let boards = [];
let boardsGeneration = 0;
let sprintsGeneration = 0;

function announce(message) {
  $("reports-status").textContent = message;
}

function note(id, message) {
  const slot = $(id);
  slot.textContent = message ?? "";
  slot.hidden = !message;
}

// --- numbers ---------------------------------------------------------------------------------

const points = (value) => formatNumber(Math.round(Number(value ?? 0) * 10) / 10);

function percent(value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "—";
  return new Intl.NumberFormat(language(), { style: "percent", maximumFractionDigits: 1 }).format(Number(value) / 100);
}

const shortDate = (value) => {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value ?? "");
  return new Intl.DateTimeFormat(language(), { dateStyle: "medium" }).format(date);
};

/** The string `key` with its `{name}` placeholder replaced by a node (a link), as a node list. */
function withNode(key, params, name, node) {
  const [before, after = ""] = t(key, { ...params, [name]: "\u0000" }).split("\u0000");
  return [before, node, after];
}

// --- pickers ---------------------------------------------------------------------------------

function boardOption(board) {
  return el("option", { value: String(board.id) }, t("board_option", { name: board.name, type: t(`board_${board.type}`) }));
}

function sprintOption(sprint) {
  const text = sprint.state === "active" ? t("sprint_active", { name: sprint.name }) : t("sprint_closed", { name: sprint.name, date: shortDate(sprint.complete_date ?? sprint.end_date) });
  return el("option", { value: String(sprint.id) }, text);
}

function sprintPickerSet(sprints) {
  const picker = $("sprint-picker");
  picker.replaceChildren(...sprints.map(sprintOption));
  picker.disabled = !sprints.length;
  $("sprint-report-submit").disabled = !sprints.length;
}

export async function loadSprints() {
  sprintsGeneration += 1;
  const mine = sprintsGeneration;
  const board = boards.find((b) => String(b.id) === $("board-picker").value);
  sprintPickerSet([]);
  note("sprint-note", null);
  if (!board) return;
  if (board.type === "kanban") {
    note("sprint-note", t("board_kanban_empty", { name: board.name }));
    return;
  }
  note("sprint-note", t("sprints_loading"));
  let sprints;
  try {
    sprints = (await getJSON(`/jira/boards/${encodeURIComponent(board.id)}/sprints`)).sprints ?? [];
  } catch (error) {
    if (mine !== sprintsGeneration) return;
    note("sprint-note", null);
    announce(showError($("report-error"), error));
    return;
  }
  if (mine !== sprintsGeneration) return;
  // A future sprint has no figures yet (the API refuses it): only the active and the closed ones,
  // the active first, then the latest closed.
  const usable = sprints.filter((s) => STATES_REPORTED.has(s.state));
  usable.sort((a, b) => (a.state === b.state ? 0 : a.state === "active" ? -1 : 1));
  sprintPickerSet(usable);
  note("sprint-note", usable.length ? null : t("sprints_empty"));
}

export async function loadBoards() {
  boardsGeneration += 1;
  const mine = boardsGeneration;
  boards = [];
  $("board-picker").replaceChildren();
  $("board-picker").disabled = true;
  sprintPickerSet([]);
  note("sprint-note", null);
  note("board-note", t("boards_loading"));
  clearError($("report-error"));
  let found;
  try {
    found = (await getJSON("/jira/boards")).boards ?? [];
  } catch (error) {
    if (mine !== boardsGeneration) return;
    note("board-note", null);
    announce(showError($("report-error"), error));
    return;
  }
  if (mine !== boardsGeneration) return;
  boards = found;
  if (!boards.length) {
    note("board-note", t("boards_empty"));
    return;
  }
  note("board-note", null);
  $("board-picker").replaceChildren(...boards.map(boardOption));
  $("board-picker").disabled = false;
  await loadSprints();
}

// --- rendering -------------------------------------------------------------------------------

/** A small bar chart: one row per entry, each with one bar per series (hidden from assistive
 * technology) and its number as text; the caption says what is measured. */
function barChart(caption, series, rows) {
  const max = Math.max(0, ...rows.flatMap((row) => row.values.map((v) => Math.abs(Number(v) || 0))));
  const captionId = uniqueId("chart");
  return el(
    "figure",
    { className: "chart", "aria-labelledby": captionId },
    el("figcaption", { id: captionId, text: caption }),
    el(
      "ul",
      { className: "chart-rows" },
      rows.map((row) =>
        el(
          "li",
          { className: "chart-row" },
          row.label ? el("span", { className: "chart-label", text: row.label }) : null,
          row.values.map((value, index) => {
            const bar = el("span", { className: `bar series-${row.series?.[index] ?? index}` });
            // CSSOM, not a style attribute: the CSP (style-src 'self') blocks the latter.
            bar.style.width = `${max ? Math.round((Math.abs(Number(value) || 0) / max) * 100) : 0}%`;
            return el(
              "span",
              { className: "chart-bar" },
              el("span", { className: "bar-track", "aria-hidden": "true" }, bar),
              el("span", { className: "chart-value", text: t("bar_points", { label: series[index], points: points(value) }) }),
            );
          }),
        ),
      ),
    ),
  );
}

function keyList(keys) {
  if (!Array.isArray(keys) || !keys.length) return "—";
  const nodes = [];
  keys.forEach((key, index) => {
    if (index) nodes.push(", ");
    nodes.push(issueLink(key));
  });
  return nodes;
}

function table(caption, headers, rows, className = "stats") {
  return el(
    "table",
    { className },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", { scope: "col", className: i ? "num" : null, text: h })))),
    el(
      "tbody",
      {},
      rows.map((cells) =>
        el(
          "tr",
          {},
          cells.map((cell, i) => (i === 0 ? el("th", { scope: "row" }, cell) : el("td", { className: typeof cell === "string" && /^[\d\s\u00a0\u202f.,%—-]+$/.test(cell) ? "num" : null }, cell))),
        ),
      ),
    ),
  );
}

function reasonsText(blocker) {
  const reasons = (blocker.reasons ?? []).filter((r) => !(r === "blocked_by" && blocker.blocked_by?.length));
  return reasons.length ? ` (${reasons.map((r) => t(`blocker_${r}`)).join(", ")})` : "";
}

const SETS = ["committed", "added", "removed", "completed", "not_completed", "carried_over"];

function sprintFacts(report) {
  const facts = report.facts ?? {};
  const set = (name) => facts[name] ?? { issues: 0, points: 0, keys: [] };
  const parts = [
    table(
      t("facts_table"),
      [t("facts_set"), t("facts_issues"), t("facts_points"), t("facts_keys")],
      SETS.map((name) => [t(`set_${name}`), formatNumber(set(name).issues), points(set(name).points), el("span", { className: "keys" }, keyList(set(name).keys))]),
      "stats facts",
    ),
    el(
      "div",
      { className: "charts" },
      barChart(t("chart_committed_completed"), [t("set_committed"), t("set_completed")], [{ label: "", values: [set("committed").points, set("completed").points], series: [0, 1] }]),
      barChart(t("chart_scope", { percent: percent(facts.scope_change_percent) }), [t("set_committed"), t("set_added"), t("set_removed")], [
        { label: "", values: [set("committed").points, set("added").points, set("removed").points], series: [0, 2, 3] },
      ]),
    ),
  ];
  const velocity = Array.isArray(facts.velocity) ? facts.velocity : [];
  if (velocity.length) {
    parts.push(
      el(
        "div",
        { className: "charts" },
        barChart(
          t("chart_velocity"),
          [t("velocity_committed"), t("velocity_completed")],
          velocity.map((v) => ({ label: v.name, values: [v.committed_points, v.completed_points], series: [0, 1] })),
        ),
        table(
          t("chart_velocity"),
          [t("velocity_sprint"), t("velocity_committed"), t("velocity_completed")],
          velocity.map((v) => [v.name, points(v.committed_points), points(v.completed_points)]),
          "stats velocity",
        ),
      ),
    );
  }
  const changes = Array.isArray(facts.estimate_changes) ? facts.estimate_changes : [];
  if (changes.length) {
    const id = uniqueId("estimates");
    parts.push(
      el("h5", { id, text: t("estimate_changes") }),
      el(
        "ul",
        { className: "items", "aria-labelledby": id },
        changes.map((c) => {
          const label = (v) => (v === null || v === undefined ? t("no_estimate") : points(v));
          return el("li", {}, withNode("estimate_change", { before: label(c.before), after: label(c.after) }, "key", issueLink(c.key)));
        }),
      ),
    );
  }
  const blockers = Array.isArray(facts.blockers) ? facts.blockers : [];
  if (blockers.length) {
    const id = uniqueId("blockers");
    parts.push(
      el("h5", { id, text: t("report_blockers") }),
      el(
        "ul",
        { className: "items", "aria-labelledby": id },
        blockers.map((b) =>
          el(
            "li",
            {},
            issueLink(b.key),
            // "blocked_by" is said with its keys; the other reasons in parentheses.
            reasonsText(b),
            b.blocked_by?.length ? [` ${t("blocker_blocked_by")} `, keyList(b.blocked_by)] : null,
          ),
        ),
      ),
    );
  }
  const groups = (caption, rows) =>
    Array.isArray(rows) && rows.length
      ? table(
          caption,
          [t("group_name"), t("facts_issues"), t("group_completed_issues"), t("facts_points"), t("group_completed_points")],
          rows.map((g) => [g.name === "(none)" ? t("none_assignee") : g.name, formatNumber(g.issues), formatNumber(g.completed_issues), points(g.points), points(g.completed_points)]),
        )
      : null;
  parts.push(el("div", { className: "stats-grid" }, groups(t("by_assignee_completion"), facts.by_assignee), groups(t("by_type_completion"), facts.by_type)));
  return parts;
}

function epicFacts(report) {
  const facts = report.facts ?? {};
  const progressRows = [];
  const series = [];
  if (facts.done_percent_points !== null && facts.done_percent_points !== undefined) {
    series.push(t("epic_done_points", { percent: percent(facts.done_percent_points) }));
    progressRows.push(facts.done_percent_points);
  }
  if (facts.done_percent_issues !== null && facts.done_percent_issues !== undefined) {
    series.push(t("epic_done_issues", { percent: percent(facts.done_percent_issues) }));
    progressRows.push(facts.done_percent_issues);
  }
  if (facts.expected_percent !== null && facts.expected_percent !== undefined) {
    series.push(t("epic_expected", { percent: percent(facts.expected_percent) }));
    progressRows.push(facts.expected_percent);
  }
  const chartId = uniqueId("chart");
  const progress = el(
    "figure",
    { className: "chart", "aria-labelledby": chartId },
    el("figcaption", { id: chartId, text: t("epic_progress") }),
    el(
      "ul",
      { className: "chart-rows" },
      series.map((text, index) => {
        const bar = el("span", { className: `bar series-${index === 2 ? 2 : 1}` });
        bar.style.width = `${Math.max(0, Math.min(100, Math.round(progressRows[index])))}%`;
        return el("li", { className: "chart-row" }, el("span", { className: "chart-bar" }, el("span", { className: "bar-track", "aria-hidden": "true" }, bar), el("span", { className: "chart-value", text })));
      }),
    ),
  );
  const due = facts.due ? t("epic_due", { date: shortDate(facts.due) }) : t("epic_no_due");
  const parts = [
    el(
      "ul",
      { className: "meta epic-meta" },
      el("li", { text: plural("epic_children_total", facts.children_total ?? 0) }),
      el("li", { text: `${due} (${t(`due_${facts.due_status ?? "no_due_date"}`)})` }),
      facts.projects?.length ? el("li", { text: t("epic_projects", { projects: facts.projects.join(", ") }) }) : null,
    ),
    facts.done_percent_points === null ? el("p", { className: "empty", text: t("epic_no_estimate") }) : null,
    el("div", { className: "charts" }, progress),
    table(
      t("epic_children"),
      [t("status"), t("status_category"), t("facts_issues"), t("facts_points"), t("facts_keys")],
      (facts.children ?? []).map((g) => [g.status, g.status_category, formatNumber(g.issues), points(g.points), el("span", { className: "keys" }, keyList(g.keys))]),
      "stats facts",
    ),
  ];
  const keysPart = (title, keys) => {
    if (!Array.isArray(keys) || !keys.length) return null;
    const id = uniqueId("keys");
    return [el("h5", { id, text: title }), el("p", { className: "keys", "aria-labelledby": id }, keyList(keys))];
  };
  parts.push(keysPart(t("epic_unestimated"), facts.unestimated), keysPart(t("epic_stale", { days: facts.stale_days ?? 0 }), facts.stale));
  return parts;
}

function reportMeta(report, kind) {
  const coverage = report.coverage ?? {};
  const sprint = report.sprint ?? {};
  return el(
    "ul",
    { className: "meta" },
    kind === "sprint" && report.board ? el("li", { text: t("report_board", { name: report.board.name }) }) : null,
    kind === "sprint" && sprint.start_date ? el("li", { text: t("report_dates", { start: shortDate(sprint.start_date), end: shortDate(sprint.complete_date ?? sprint.end_date) }) }) : null,
    el("li", { text: t(`report_audience_${report.audience ?? "team"}`) }),
    el("li", { className: "coverage", text: coverageLine(coverage.analyzed, coverage.total) }),
    el("li", { className: report.cached ? "cached" : "fresh", text: t(report.cached ? "cached" : "fresh", { date: formatDate(report.generated_at) }) }),
    report.model ? el("li", { text: t("model", { provider: report.provider ?? "", model: report.model }) }) : null,
  );
}

function reportTitle(report, kind) {
  if (kind === "sprint") return t("sprint_report_title", { name: report.sprint?.name ?? "" });
  return t("epic_report_title", { key: report.epic?.key ?? "", summary: report.epic?.summary ?? "" });
}

function renderReport(report, kind, rerun) {
  const titleId = "report-result-title";
  const copy = el("button", { type: "button", className: "button", id: "report-copy", text: t("report_copy") });
  copy.addEventListener("click", () => copyMarkdown(report, kind));
  const regenerate = el("button", { type: "button", className: "button", id: "report-regenerate", text: t("regenerate") });
  regenerate.addEventListener("click", () => rerun());
  const goal = kind === "sprint" && report.sprint?.goal ? el("p", { className: "goal", text: t("report_goal", { goal: report.sprint.goal }) }) : null;
  return el(
    "article",
    { className: "card report", "aria-labelledby": titleId, dataset: { kind } },
    el("h3", { id: titleId, tabindex: "-1" }, kind === "epic" && report.epic?.key ? withNode("epic_report_title", { summary: report.epic.summary ?? "" }, "key", issueLink(report.epic.key)) : reportTitle(report, kind)),
    goal,
    reportMeta(report, kind),
    renderQuality(report.quality),
    el("section", { className: "result-part facts-part" }, el("h4", { text: t("report_facts") }), kind === "sprint" ? sprintFacts(report) : epicFacts(report)),
    el("section", { className: "result-part" }, el("h4", { text: t("report_narrative") }), el("p", { className: "narrative" }, linkedText(report.summary))),
    renderList(t("went_well"), report.went_well),
    renderList(t("slipped"), report.slipped),
    renderList(t("risks"), report.risks),
    renderList(t("next_steps"), report.next_steps),
    el("div", { className: "actions" }, copy, regenerate),
    el("div", { id: "report-copy-slot" }),
  );
}

// --- Markdown --------------------------------------------------------------------------------

const mdEscape = (text) => String(text ?? "").replace(/([\\`*_[\]|])/g, "\\$1");

function mdItems(title, items) {
  const lines = [`## ${title}`, ""];
  if (!Array.isArray(items) || !items.length) return [...lines, `- ${t("none")}`, ""];
  for (const item of items) {
    const key = item?.issue_key && !String(item.text ?? "").includes(item.issue_key) ? ` (${item.issue_key})` : "";
    lines.push(`- ${mdEscape(item?.text ?? item)}${key}`);
  }
  return [...lines, ""];
}

const mdKeys = (keys) => (Array.isArray(keys) && keys.length ? keys.join(", ") : "—");

/** The report as Markdown, in the page's language: the facts as tables, then the narrative. */
export function reportMarkdown(report, kind) {
  const facts = report.facts ?? {};
  const lines = [`# ${mdEscape(reportTitle(report, kind))}`, ""];
  if (kind === "sprint") {
    if (report.sprint?.goal) lines.push(mdEscape(t("report_goal", { goal: report.sprint.goal })), "");
    lines.push(`## ${t("report_facts")}`, "", `| ${t("facts_set")} | ${t("facts_issues")} | ${t("facts_points")} | ${t("facts_keys")} |`, "|---|---:|---:|---|");
    for (const name of SETS) {
      const set = facts[name] ?? { issues: 0, points: 0, keys: [] };
      lines.push(`| ${t(`set_${name}`)} | ${formatNumber(set.issues)} | ${points(set.points)} | ${mdKeys(set.keys)} |`);
    }
    lines.push("", t("chart_scope", { percent: percent(facts.scope_change_percent) }), "");
    if (facts.velocity?.length) {
      lines.push(`### ${t("chart_velocity")}`, "", `| ${t("velocity_sprint")} | ${t("velocity_committed")} | ${t("velocity_completed")} |`, "|---|---:|---:|");
      for (const v of facts.velocity) lines.push(`| ${mdEscape(v.name)} | ${points(v.committed_points)} | ${points(v.completed_points)} |`);
      lines.push("");
    }
  } else {
    lines.push(`## ${t("report_facts")}`, "", plural("epic_children_total", facts.children_total ?? 0));
    if (facts.done_percent_points !== null && facts.done_percent_points !== undefined) lines.push(`- ${t("epic_done_points", { percent: percent(facts.done_percent_points) })}`);
    if (facts.done_percent_issues !== null && facts.done_percent_issues !== undefined) lines.push(`- ${t("epic_done_issues", { percent: percent(facts.done_percent_issues) })}`);
    if (facts.expected_percent !== null && facts.expected_percent !== undefined) lines.push(`- ${t("epic_expected", { percent: percent(facts.expected_percent) })}`);
    lines.push(`- ${facts.due ? t("epic_due", { date: shortDate(facts.due) }) : t("epic_no_due")} (${t(`due_${facts.due_status ?? "no_due_date"}`)})`, "");
    lines.push(`| ${t("status")} | ${t("facts_issues")} | ${t("facts_points")} | ${t("facts_keys")} |`, "|---|---:|---:|---|");
    for (const g of facts.children ?? []) lines.push(`| ${mdEscape(g.status)} | ${formatNumber(g.issues)} | ${points(g.points)} | ${mdKeys(g.keys)} |`);
    lines.push("");
  }
  lines.push(`## ${t("report_narrative")}`, "", mdEscape(report.summary), "");
  lines.push(...mdItems(t("went_well"), report.went_well), ...mdItems(t("slipped"), report.slipped), ...mdItems(t("risks"), report.risks), ...mdItems(t("next_steps"), report.next_steps));
  return `${lines.join("\n").trim()}\n`;
}

async function copyMarkdown(report, kind) {
  const markdown = reportMarkdown(report, kind);
  const slot = $("report-copy-slot");
  try {
    await navigator.clipboard.writeText(markdown);
    slot.replaceChildren();
    announce(t("report_copied"));
  } catch {
    // No clipboard (permission refused, an insecure origin): the text, selected, to copy by hand.
    const id = uniqueId("markdown");
    const area = el("textarea", { id, readonly: true, rows: "12", className: "markdown" });
    area.value = markdown;
    slot.replaceChildren(el("label", { for: id, text: t("report_markdown") }), area);
    area.focus();
    area.select();
    announce(t("report_copy_failed"));
  }
}

// --- the stream ------------------------------------------------------------------------------

class ReportView {
  constructor() {
    this.box = $("report-progress");
    this.bar = $("report-progress-bar");
    this.text = $("report-progress-text");
    this.narrative = null;
    this.box.hidden = false;
    this.bar.hidden = false;
    this.box.dataset.state = "running";
    this.show({ text: t("progress_start") });
    $("report-result").replaceChildren();
  }

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

  log(data) {
    this.show({ text: stepText(data), done: data.done, total: data.total });
  }

  delta({ text }) {
    if (!this.narrative) {
      this.narrative = el("p", { className: "narrative stream-text" });
      $("report-result").replaceChildren(
        el("section", { className: "card provisional", "aria-labelledby": "report-provisional-title" }, el("h3", { id: "report-provisional-title", text: t("report_provisional") }), this.narrative),
      );
      this.show({ text: t("report_writing") });
    }
    this.narrative.append(String(text ?? ""));
  }

  finish() {
    this.box.hidden = true;
    this.box.dataset.state = "done";
  }

  stopped() {
    this.box.dataset.state = "cancelled";
    this.bar.hidden = true;
    this.text.textContent = t("report_stopped");
  }

  failed() {
    this.box.hidden = true;
    this.box.dataset.state = "error";
    $("report-result").replaceChildren();
  }
}

function setRunning(running) {
  const stop = $("report-stop");
  const hadFocus = document.activeElement === stop;
  for (const id of ["sprint-report-submit", "epic-report-submit"]) $(id).disabled = running || (id === "sprint-report-submit" && !$("sprint-picker").value);
  stop.disabled = !running;
  $("report-result").setAttribute("aria-busy", running ? "true" : "false");
  if (running) stop.focus();
  else if (hadFocus) $("report-result-title")?.focus();
}

function setEpicError(message) {
  const error = $("epic-key-error");
  error.textContent = message ?? "";
  error.hidden = !message;
  if (message) $("epic-key").setAttribute("aria-invalid", "true");
  else $("epic-key").removeAttribute("aria-invalid");
}

async function runReport(kind, body) {
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  clearError($("report-error"));
  // The view first: it shows the progress block, where Arrêter (which takes the focus) lives.
  const view = new ReportView();
  setRunning(true);
  announce(t("report_running"));
  const path = kind === "sprint" ? "/ai/sprint-report/stream" : "/ai/epic-report/stream";
  const payload = { ...body, language: language() };
  let report = null;
  let ended = false;
  try {
    ended = await postEvents(path, payload, signal, (message, data) => {
      if (message.event === "log") view.log(data);
      else if (message.event === "delta") view.delta(data);
      else if (message.event === "result" && data.content && typeof data.content === "object") {
        report = data.content;
        $("report-result").replaceChildren(renderReport(report, kind, () => runReport(kind, { ...body, refresh: true })));
      } else if (message.event === "done") {
        view.finish();
        return "done";
      } else if (message.event === "error") {
        throw new ApiError({ status: 200, code: data.code, detail: data.detail ?? "", retryAfter: data.retry_after ?? null });
      }
      return null;
    });
    if (!ended || !report) throw new ApiError({ status: 0, code: "stream_cut" });
    announce(`${t("report_done")} ${coverageLine(report.coverage?.analyzed, report.coverage?.total)}.`);
    $("report-result-title")?.focus();
  } catch (error) {
    if (controller?.signal !== signal) return; // a newer run, or a reset, owns the page now
    if (error.name === "AbortError") {
      view.stopped();
      announce(t("report_stopped"));
    } else if (error.code === "stream_cut") {
      view.failed();
      $("report-error").replaceChildren(el("div", { className: "error-box", "data-code": "stream_cut" }, el("p", { text: t("report_cut") })));
      announce(t("err_announce", { message: t("report_cut") }));
    } else if (kind === "epic" && error.code === "issue_not_found") {
      // An empty state rather than a failure: the key names nothing on this site.
      view.failed();
      const message = t("epic_not_found", { key: body.epic_key });
      setEpicError(message);
      $("report-result").replaceChildren(el("div", { className: "empty-state", "data-state": "epic-not-found" }, el("p", { className: "empty", text: message }), el("p", { className: "hint", text: t("epic_not_found_do") })));
      announce(t("err_announce", { message }));
    } else {
      view.failed();
      announce(showError($("report-error"), error instanceof ApiError ? error : new ApiError({ status: 0, code: "network_error" })));
    }
  } finally {
    if (controller?.signal === signal) {
      controller = null;
      setRunning(false);
    }
  }
}

export function resetReports() {
  const running = controller;
  controller = null;
  running?.abort();
  $("report-progress").hidden = true;
  delete $("report-progress").dataset.state;
  $("report-result").replaceChildren();
  clearError($("report-error"));
  setRunning(false);
}

export function initReports() {
  $("board-picker").addEventListener("change", () => loadSprints());
  $("report-stop").addEventListener("click", () => controller?.abort());
  $("sprint-report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const boardId = Number($("board-picker").value);
    const sprintId = Number($("sprint-picker").value);
    if (!boardId || !sprintId) return;
    runReport("sprint", { board_id: boardId, sprint_id: sprintId, audience: $("sprint-audience").value, refresh: false });
  });
  $("epic-report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("epic-key").value.trim().toUpperCase();
    if (!key) setEpicError(t("epic_key_required"));
    else if (!ISSUE_KEY.test(key)) setEpicError(t("key_invalid", { key }));
    else {
      setEpicError(null);
      runReport("epic", { epic_key: key, audience: $("epic-audience").value, refresh: false });
      return;
    }
    $("epic-key").focus();
  });
}
