// "Notes de version", in the Rapports section: a project picker (GET /jira/projects), a version
// picker (GET /jira/projects/{key}/versions, the latest released version chosen), an audience, and
// "Générer les notes de version", which streams POST /ai/release-notes/stream. The result: the
// sections and their items (keys as links to Jira, texts as text), the coverage line
// ("42 tickets, 38 dans les notes, 4 écartés"), the omitted issues with their reason, and
// "Copier en Markdown" (the server's `markdown`, never rebuilt here). The live region says only
// the start, the end and errors.
import { ApiError, getJSON } from "./api.js";
import { el, formatNumber, language, plural, t, uniqueId } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { stepText } from "./progress.js";
import { issueLink, renderQuality } from "./render.js";
import { postEvents } from "./sse.js";

const $ = (id) => document.getElementById(id);

let controller = null;
let projectsGeneration = 0;
let versionsGeneration = 0;

function announce(message) {
  $("notes-status").textContent = message;
}

function note(id, message) {
  const slot = $(id);
  slot.textContent = message ?? "";
  slot.hidden = !message;
}

const shortDate = (value) => {
  const date = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return String(value ?? "");
  return new Intl.DateTimeFormat(language(), { dateStyle: "medium", timeZone: "UTC" }).format(date);
};

// --- pickers ---------------------------------------------------------------------------------

function versionOption(version) {
  const name = version.name;
  const text = version.archived
    ? t("notes_version_archived", { name })
    : version.released
      ? version.release_date
        ? t("notes_version_released", { name, date: shortDate(version.release_date) })
        : name
      : t("notes_version_unreleased", { name });
  return el("option", { value: name }, text);
}

function versionsSet(versions) {
  const picker = $("notes-version");
  picker.replaceChildren(...versions.map(versionOption));
  // The latest released version that is not archived: the one whose notes are usually wanted.
  const latest = [...versions].reverse().find((v) => v.released && !v.archived);
  if (latest) picker.value = latest.name;
  picker.disabled = !versions.length;
  $("notes-submit").disabled = !versions.length || controller !== null;
}

export async function loadVersions() {
  versionsGeneration += 1;
  const mine = versionsGeneration;
  const key = $("notes-project").value;
  versionsSet([]);
  note("notes-version-note", null);
  if (!key) return;
  note("notes-version-note", t("notes_versions_loading"));
  let versions;
  try {
    versions = (await getJSON(`/jira/projects/${encodeURIComponent(key)}/versions`)).versions ?? [];
  } catch (error) {
    if (mine !== versionsGeneration) return;
    note("notes-version-note", null);
    announce(showError($("notes-error"), error));
    return;
  }
  if (mine !== versionsGeneration) return;
  versionsSet(versions);
  note("notes-version-note", versions.length ? null : t("notes_versions_empty"));
}

export async function loadNotesProjects() {
  projectsGeneration += 1;
  const mine = projectsGeneration;
  $("notes-project").replaceChildren();
  $("notes-project").disabled = true;
  versionsSet([]);
  note("notes-project-note", t("notes_projects_loading"));
  let projects;
  try {
    projects = (await getJSON("/jira/projects")).projects ?? [];
  } catch (error) {
    if (mine !== projectsGeneration) return;
    note("notes-project-note", null);
    announce(showError($("notes-error"), error));
    return;
  }
  if (mine !== projectsGeneration) return;
  if (!projects.length) {
    note("notes-project-note", t("notes_projects_empty"));
    return;
  }
  note("notes-project-note", null);
  $("notes-project").replaceChildren(...projects.map((p) => el("option", { value: p.key }, `${p.name} (${p.key})`)));
  $("notes-project").disabled = false;
  await loadVersions();
}

// --- rendering -------------------------------------------------------------------------------

export function coverageText(coverage) {
  const c = coverage ?? {};
  return plural("notes_coverage", c.total ?? 0)
    .replace("{in_notes}", formatNumber(c.in_notes ?? 0))
    .replace("{omitted}", formatNumber(c.omitted ?? 0));
}

function itemNode(item) {
  return el("li", { className: "note-item", "data-key": item.issue_key }, issueLink(item.issue_key), " — ", String(item.text ?? ""));
}

async function copyMarkdown(notes) {
  const slot = $("notes-copy-slot");
  try {
    await navigator.clipboard.writeText(notes.markdown);
    slot.replaceChildren();
    announce(t("notes_copied"));
  } catch {
    // No clipboard (permission refused, an insecure origin): the text, selected, to copy by hand.
    const id = uniqueId("notes-markdown");
    const area = el("textarea", { id, readonly: true, rows: "12", className: "markdown" });
    area.value = notes.markdown;
    slot.replaceChildren(el("label", { for: id, text: t("notes_markdown") }), area);
    area.focus();
    area.select();
    announce(t("report_copy_failed"));
  }
}

export function renderNotes(notes) {
  const version = notes.version ?? {};
  const sections = Array.isArray(notes.sections) ? notes.sections.filter((s) => s.items?.length) : [];
  const omitted = Array.isArray(notes.omitted) ? notes.omitted : [];
  const meta = [
    version.released ? (version.release_date ? t("notes_released_on", { date: shortDate(version.release_date) }) : null) : t("notes_unreleased"),
    t(`notes_audience_${notes.audience === "team" ? "team" : "users"}`),
  ].filter(Boolean);
  const omittedId = uniqueId("notes-omitted");
  const copy = el("button", { type: "button", className: "button", id: "notes-copy", text: t("report_copy") });
  copy.addEventListener("click", () => copyMarkdown(notes));
  return el(
    "section",
    { className: "card notes", "aria-labelledby": "notes-result-title" },
    el("h3", { id: "notes-result-title", tabindex: "-1", text: t("notes_title", { project: notes.project_key, version: version.name }) }),
    el("p", { className: "meta", text: meta.join(" · ") }),
    el("p", { className: "coverage", id: "notes-coverage", text: coverageText(notes.coverage) }),
    sections.length
      ? sections.map((section) => {
          const id = uniqueId("notes-section");
          return el(
            "section",
            { className: "notes-section", "data-kind": section.kind, "aria-labelledby": id },
            el("h4", { id, text: section.title }),
            el("ul", {}, section.items.map(itemNode)),
          );
        })
      : el("p", { className: "empty", "data-state": "notes-empty", text: t("notes_empty") }),
    omitted.length
      ? el(
          "section",
          { className: "notes-omitted", "aria-labelledby": omittedId },
          el("h4", { id: omittedId, text: t("notes_omitted") }),
          el(
            "ul",
            {},
            omitted.map((o) => el("li", { "data-key": o.issue_key, "data-reason": o.reason }, issueLink(o.issue_key), " : ", t(`omit_${o.reason}`))),
          ),
        )
      : null,
    renderQuality(notes.quality),
    el("div", { className: "actions" }, copy),
    el("div", { id: "notes-copy-slot" }),
  );
}

// --- the stream ------------------------------------------------------------------------------

function setRunning(running) {
  $("notes-submit").disabled = running || !$("notes-version").value;
  $("notes-result").setAttribute("aria-busy", running ? "true" : "false");
}

function progress(text) {
  const slot = $("notes-progress");
  slot.textContent = text ?? "";
  slot.hidden = !text;
}

async function runNotes(body) {
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  clearError($("notes-error"));
  $("notes-result").replaceChildren();
  setRunning(true);
  announce(t("notes_running"));
  progress(t("progress_start"));
  let notes = null;
  try {
    const ended = await postEvents("/ai/release-notes/stream", { ...body, language: language() }, signal, (message, data) => {
      if (message.event === "log") progress(stepText(data));
      else if (message.event === "result" && data.content && typeof data.content === "object") {
        notes = data.content;
        $("notes-result").replaceChildren(renderNotes(notes));
      } else if (message.event === "done") return "done";
      else if (message.event === "error") {
        throw new ApiError({ status: 200, code: data.code, detail: data.detail ?? "", retryAfter: data.retry_after ?? null });
      }
      return null;
    });
    if (!ended || !notes) throw new ApiError({ status: 0, code: "stream_cut" });
    progress(null);
    announce(`${t("notes_done")} ${coverageText(notes.coverage)}.`);
    $("notes-result-title")?.focus();
  } catch (error) {
    if (controller?.signal !== signal) return; // a newer run, or a reset, owns the page now
    progress(null);
    $("notes-result").replaceChildren();
    if (error.code === "stream_cut") {
      $("notes-error").replaceChildren(el("div", { className: "error-box", "data-code": "stream_cut" }, el("p", { text: t("notes_cut") })));
      announce(t("err_announce", { message: t("notes_cut") }));
    } else {
      announce(showError($("notes-error"), error instanceof ApiError ? error : new ApiError({ status: 0, code: "network_error" })));
    }
  } finally {
    if (controller?.signal === signal) {
      controller = null;
      setRunning(false);
    }
  }
}

export function resetNotes() {
  const running = controller;
  controller = null;
  running?.abort();
  progress(null);
  $("notes-result").replaceChildren();
  clearError($("notes-error"));
  setRunning(false);
}

export function initNotes() {
  $("notes-project").addEventListener("change", () => loadVersions());
  $("notes-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const projectKey = $("notes-project").value;
    const version = $("notes-version").value;
    if (!projectKey || !version) return;
    runNotes({ project_key: projectKey, version, audience: $("notes-audience").value, refresh: false });
  });
}
