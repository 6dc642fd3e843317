// Rendering of summaries, analyses and their parts, from JSON to DOM nodes (text only).
import { el, formatNumber, plural, t, uniqueId } from "./dom.js";
import { ISSUE_KEY_IN_TEXT } from "./keys.js";
import { browseUrl } from "./state.js";

export function issueLink(key) {
  const href = browseUrl(key);
  if (!href) return el("span", { className: "issue-key", text: key });
  return el("a", { href, className: "issue-key", text: key, title: t("open_in_jira", { key }) });
}

/** `text` with every issue key turned into a link to Jira (text nodes and anchors only). */
export function linkedText(text) {
  const nodes = [];
  let last = 0;
  const source = String(text ?? "");
  for (const match of source.matchAll(ISSUE_KEY_IN_TEXT)) {
    if (match.index > last) nodes.push(source.slice(last, match.index));
    nodes.push(issueLink(match[1]));
    last = match.index + match[0].length;
  }
  if (last < source.length) nodes.push(source.slice(last));
  return nodes;
}

const TEXT_FIELDS = ["text", "title", "summary", "description", "detail", "message", "action", "question", "content", "risk", "blocker", "reason"];
const KEY_FIELDS = ["issue_key", "key", "issue"];
const KEYS_FIELDS = ["issue_keys", "keys", "issues", "cited_keys"];

function itemKeys(item) {
  const keys = [];
  for (const field of KEY_FIELDS) if (typeof item[field] === "string" && item[field]) keys.push(item[field]);
  for (const field of KEYS_FIELDS) if (Array.isArray(item[field])) keys.push(...item[field].filter((k) => typeof k === "string"));
  return [...new Set(keys)];
}

export function renderItem(item) {
  if (item === null || item === undefined) return el("li");
  if (typeof item !== "object") return el("li", {}, linkedText(item));
  const textField = TEXT_FIELDS.find((field) => typeof item[field] === "string" && item[field]);
  // Keys the text already names are linked in place; only the others are listed after it.
  const keys = itemKeys(item).filter((key) => !(textField && item[textField].includes(key)));
  const extras = Object.entries(item).filter(
    ([field, value]) =>
      field !== textField && !KEY_FIELDS.includes(field) && !KEYS_FIELDS.includes(field) && (typeof value === "string" || typeof value === "number") && value !== "",
  );
  const li = el("li", {}, textField ? linkedText(item[textField]) : null);
  if (extras.length) {
    li.append(" ", el("span", { className: "item-meta", text: `(${extras.map(([, v]) => v).join(", ")})` }));
  }
  if (keys.length) {
    const cited = el("span", { className: "cited" }, " — ");
    keys.forEach((key, index) => {
      if (index) cited.append(", ");
      cited.append(issueLink(key));
    });
    li.append(cited);
  }
  return li;
}

export function renderList(title, items, level = "h4") {
  const id = uniqueId("list");
  const list = Array.isArray(items) && items.length ? el("ul", { className: "items", "aria-labelledby": id }, items.map(renderItem)) : el("p", { className: "empty", text: t("none") });
  return el("section", { className: "result-part" }, el(level, { id, text: title }), list);
}

function entriesOf(breakdown) {
  if (!breakdown) return [];
  if (Array.isArray(breakdown)) {
    return breakdown.map((row) => [row.name ?? row.value ?? row.key ?? "", Number(row.count ?? row.total ?? 0)]);
  }
  return Object.entries(breakdown).map(([name, count]) => [name, Number(count)]);
}

// The engine's label for a missing value in its stats (NONE_LABEL in ai_service/engine/pipeline.py):
// a wire value, shown in the page's words (`noneLabel`).
const NONE_ON_THE_WIRE = "(none)";

/** A small table (value, count, share with a bar) for one breakdown. */
export function renderBreakdown(caption, breakdown, valueHeader = t("value"), noneLabel = null) {
  const rows = entriesOf(breakdown).sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, count]) => sum + count, 0);
  const percent = new Intl.NumberFormat(document.documentElement.lang || "fr", { style: "percent", maximumFractionDigits: 0 });
  const body = el("tbody");
  for (const [name, count] of rows) {
    const share = total ? count / total : 0;
    const bar = el("span", { className: "bar", "aria-hidden": "true" });
    // CSSOM, not a style attribute: the CSP (style-src 'self') blocks the latter.
    bar.style.width = `${Math.round(share * 100)}%`;
    body.append(
      el(
        "tr",
        {},
        el("th", { scope: "row", text: name === NONE_ON_THE_WIRE && noneLabel ? noneLabel : name || "—" }),
        el("td", { className: "num", text: formatNumber(count) }),
        el("td", { className: "share" }, el("span", { className: "bar-track", "aria-hidden": "true" }, bar), el("span", { className: "share-text", text: percent.format(share) })),
      ),
    );
  }
  return el(
    "table",
    { className: "stats" },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: valueHeader }), el("th", { scope: "col", text: t("count") }), el("th", { scope: "col", text: t("share") }))),
    body,
  );
}

export function coverageLine(analyzed, total) {
  return t("coverage", { analyzed: formatNumber(analyzed ?? 0), total: formatNumber(total ?? 0) });
}

/** What the engine's guardrails did to the answer (the contract's `Quality`), in a few muted words:
 * "Réponse vérifiée" when nothing fired, else one line per guard. Plain text, outside any live
 * region: read with the result, never announced over it. `null` when the answer has no block. */
export function renderQuality(quality) {
  if (!quality || typeof quality !== "object") return null;
  const notes = [
    quality.unknown_citations_removed > 0 ? plural("quality_citations", quality.unknown_citations_removed) : null,
    quality.numbers_corrected > 0 ? plural("quality_numbers", quality.numbers_corrected) : null,
    quality.narrative_from_facts ? t("quality_narrative_from_facts") : quality.language_ok === false ? t("quality_language") : null,
    quality.repaired && !quality.narrative_from_facts ? t("quality_repaired") : null,
    quality.injection_suspected ? t("quality_injection") : null,
  ].filter(Boolean);
  if (!notes.length) {
    return el("p", { className: "quality quality-clean" }, el("span", { className: "quality-mark", "aria-hidden": "true", text: "✓ " }), t("quality_clean"));
  }
  const id = uniqueId("quality");
  return el(
    "div",
    { className: "quality quality-notes" },
    el("p", { id, className: "quality-title" }, el("span", { className: "quality-mark", "aria-hidden": "true", text: "ⓘ " }), t("quality_title")),
    el("ul", { "aria-labelledby": id }, notes.map((note) => el("li", { text: note }))),
  );
}

/** Any JSON value as readable blocks: strings as paragraphs, arrays as lists, objects by field. */
export function renderValue(value, level = 5) {
  if (value === null || value === undefined || value === "") return el("p", { className: "empty", text: t("none") });
  if (typeof value !== "object") return el("p", {}, linkedText(value));
  if (Array.isArray(value)) return value.length ? el("ul", { className: "items" }, value.map(renderItem)) : el("p", { className: "empty", text: t("none") });
  const wrapper = el("div", { className: "value" });
  for (const [field, inner] of Object.entries(value)) {
    if (field === "section") continue;
    const label = t(`section_${field}`) !== `section_${field}` ? t(`section_${field}`) : t(field) !== field ? t(field) : field.replace(/_/g, " ");
    wrapper.append(el(`h${Math.min(level, 6)}`, { text: label }), renderValue(inner, level + 1));
  }
  return wrapper;
}
