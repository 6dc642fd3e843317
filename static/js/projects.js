// "Projets PO": the current site's projects as WAI-ARIA tabs (manual activation, since a panel loads
// data): roving tabindex on the selected tab, arrows/Home/End move the focus, Enter/Space activate.
import { getJSON } from "./api.js";
import { el, formatDate, plural, t } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { issueLink, renderBreakdown } from "./render.js";
import { summarizeQuery } from "./summary.js";

const $ = (id) => document.getElementById(id);
let generation = 0;

const tabs = () => [...$("project-tabs").querySelectorAll('[role="tab"]')];

function announce(message) {
  $("projects-status").textContent = message;
}

function renderOverview(project, overview) {
  const recent = Array.isArray(overview.recent) ? overview.recent : [];
  const summarize = el("button", { type: "button", className: "button button-primary", text: t("summarize_project") });
  summarize.addEventListener("click", () => summarizeQuery(`project = ${project.key}`));
  const recentId = `recent-${project.key}`;
  return [
    el("h3", { text: `${overview.name ?? project.name} (${project.key})` }),
    el("p", { className: "open-total", text: plural("open_total", overview.open_total ?? 0) }),
    el("div", { className: "actions" }, summarize),
    renderBreakdown(t("open_by_status"), overview.by_status, t("status")),
    el("h4", { id: recentId, text: t("recently_updated") }),
    recent.length
      ? el(
          "ul",
          { className: "recent", "aria-labelledby": recentId },
          recent.map((issue) =>
            el(
              "li",
              {},
              issueLink(issue.key),
              " ",
              el("span", { className: "issue-summary", text: issue.summary ?? "" }),
              " ",
              el("span", { className: "item-meta", text: `(${[issue.status, issue.updated ? formatDate(issue.updated) : null].filter(Boolean).join(", ")})` }),
            ),
          ),
        )
      : el("p", { className: "empty", text: t("no_issues") }),
  ];
}

async function loadPanel(tab, project) {
  const panel = $(tab.getAttribute("aria-controls"));
  if (panel.dataset.state === "loaded" || panel.dataset.state === "loading") return;
  const mine = generation;
  panel.dataset.state = "loading";
  panel.setAttribute("aria-busy", "true");
  announce(t("project_loading", { name: project.name }));
  try {
    const overview = await getJSON(`/jira/projects/${encodeURIComponent(project.key)}/overview`);
    if (mine !== generation) return;
    panel.replaceChildren(...renderOverview(project, overview));
    panel.dataset.state = "loaded";
    announce(t("project_loaded", { name: project.name }));
  } catch (error) {
    if (mine !== generation) return;
    const slot = el("div", { className: "error-slot" });
    panel.replaceChildren(slot);
    delete panel.dataset.state;
    announce(showError(slot, error));
  } finally {
    panel.setAttribute("aria-busy", "false");
  }
}

function select(tab, projectsByKey) {
  for (const other of tabs()) {
    const selected = other === tab;
    other.setAttribute("aria-selected", selected ? "true" : "false");
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
  loadPanel(tab, projectsByKey.get(tab.dataset.key));
}

function onKeydown(event) {
  const list = tabs();
  const index = list.indexOf(document.activeElement);
  if (index < 0) return;
  let next = null;
  if (event.key === "ArrowRight") next = list[(index + 1) % list.length];
  else if (event.key === "ArrowLeft") next = list[(index - 1 + list.length) % list.length];
  else if (event.key === "Home") next = list[0];
  else if (event.key === "End") next = list[list.length - 1];
  if (next) {
    event.preventDefault();
    next.focus();
  }
}

export async function loadProjects() {
  generation += 1;
  const mine = generation;
  const tablist = $("project-tabs");
  const panels = $("project-panels");
  tablist.replaceChildren();
  panels.replaceChildren();
  clearError($("projects-error"));
  announce(t("projects_loading"));
  let projects;
  try {
    projects = (await getJSON("/jira/projects")).projects ?? [];
  } catch (error) {
    if (mine === generation) announce(showError($("projects-error"), error));
    return;
  }
  if (mine !== generation) return;
  if (!projects.length) {
    announce(t("projects_empty"));
    panels.replaceChildren(el("p", { className: "empty", text: t("projects_empty") }));
    return;
  }
  const byKey = new Map(projects.map((project) => [project.key, project]));
  for (const project of projects) {
    const tabId = `tab-${project.key}`;
    const panelId = `panel-${project.key}`;
    const tab = el(
      "button",
      { type: "button", role: "tab", id: tabId, "aria-selected": "false", "aria-controls": panelId, tabindex: "-1", dataset: { key: project.key }, className: "tab" },
      el("span", { className: "tab-key", text: project.key }),
      " ",
      el("span", { className: "tab-name", text: project.name }),
    );
    // Buttons turn Enter and Space into a click: that is the manual activation.
    tab.addEventListener("click", () => select(tab, byKey));
    tablist.append(tab);
    panels.append(el("div", { role: "tabpanel", id: panelId, "aria-labelledby": tabId, tabindex: "0", hidden: true, className: "tabpanel" }));
  }
  announce(plural("projects_loaded", projects.length));
  select(tabs()[0], byKey);
}

export function initProjects() {
  $("project-tabs").addEventListener("keydown", onKeydown);
}
