// Small DOM helpers. Text always goes through textContent (never innerHTML): Jira and LLM text is
// untrusted, and the sandbox's `<script>` issues must show as text.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "className") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
}

let strings = null;

/** The translated string `key`, with `{name}` placeholders replaced by `params`. */
export function t(key, params = {}) {
  if (strings === null) {
    strings = JSON.parse(document.getElementById("ui-strings").textContent);
  }
  const template = strings[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    name in params ? String(params[name]) : match,
  );
}

export const language = () => document.documentElement.lang || "fr";

/** The `{key}_one` or `{key}_other` string for `count` (with `{count}` formatted), by the page's
 * plural rules. */
export function plural(key, count) {
  const category = new Intl.PluralRules(language()).select(count);
  const chosen = t(`${key}_${category}`) !== `${key}_${category}` ? `${key}_${category}` : `${key}_other`;
  return t(chosen, { count: formatNumber(count) });
}

export function formatNumber(value) {
  return new Intl.NumberFormat(language()).format(value);
}

export function formatDate(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value ?? "");
  return new Intl.DateTimeFormat(language(), { dateStyle: "medium", timeStyle: "short" }).format(date);
}

let uid = 0;
export function uniqueId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}
