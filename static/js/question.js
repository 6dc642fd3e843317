// "Poser une question": POST /ai/jql-from-question turns a question in plain language into JQL
// that Jira has checked. The answer shows the query, its explanation and Jira's approximate
// count (« ≈ 1 649 tickets »), and fills the JQL field of the summary: nothing runs until the user
// presses Résumer. An invalid_jql answer shows Jira's own message. The live region says the start,
// the end and errors; the focus stays where the user is.
import { sendJSON } from "./api.js";
import { el, language, plural, t } from "./dom.js";
import { clearError, showError } from "./errors.js";

const $ = (id) => document.getElementById(id);
const input = () => $("question");
const status = () => $("question-status");
const errorSlot = () => $("question-error");
const output = () => $("question-result");

let controller = null;

function setFieldError(message) {
  const error = $("question-field-error");
  error.textContent = message ?? "";
  error.hidden = !message;
  if (message) input().setAttribute("aria-invalid", "true");
  else input().removeAttribute("aria-invalid");
}

const countText = (count) => (Number.isInteger(count) ? plural("question_count", count) : t("question_count_unknown"));

function renderProposal(answer) {
  const titleId = "question-result-title";
  const warnings = answer.warnings ?? [];
  return el(
    "article",
    { className: "card question-card", "aria-labelledby": titleId },
    el("h3", { id: titleId, tabindex: "-1", text: t("question_title") }),
    el("p", { className: "query" }, el("code", { id: "question-jql", text: answer.jql })),
    el("p", { className: "question-count", id: "question-count", text: countText(answer.approximate_count) }),
    el(
      "section",
      { className: "result-part" },
      el("h4", { text: t("question_explanation") }),
      // The model's words, in the language it answered in.
      el("p", { className: "question-explanation", lang: answer.language || language(), text: answer.explanation }),
    ),
    answer.repaired ? el("p", { className: "question-repaired", text: t("question_repaired") }) : null,
    warnings.length
      ? el(
          "section",
          { className: "result-part" },
          el("h4", { text: t("question_warnings") }),
          // Jira's messages are in English.
          el("ul", { className: "question-warnings", lang: "en" }, ...warnings.map((w) => el("li", { text: w }))),
        )
      : null,
  );
}

async function translate(question) {
  controller?.abort();
  const mine = new AbortController();
  controller = mine;
  const submit = $("question-submit");
  submit.disabled = true;
  clearError(errorSlot());
  output().replaceChildren();
  status().textContent = t("question_running");
  try {
    const answer = await sendJSON("POST", "/ai/jql-from-question", { question, language: language() }, { signal: mine.signal });
    if (controller !== mine) return;
    output().replaceChildren(renderProposal(answer));
    const jql = $("jql");
    jql.value = answer.jql;
    jql.removeAttribute("aria-invalid");
    const jqlError = $("jql-error");
    jqlError.hidden = true;
    jqlError.textContent = "";
    status().textContent = t("question_done", { count: countText(answer.approximate_count) });
  } catch (error) {
    if (error.name === "AbortError" || controller !== mine) return;
    status().textContent = showError(errorSlot(), error);
  } finally {
    if (controller === mine) {
      controller = null;
      const hadFocus = document.activeElement === submit || document.activeElement === document.body;
      submit.disabled = false;
      if (hadFocus) submit.focus();
    }
  }
}

export function resetQuestion() {
  controller?.abort();
  controller = null;
  $("question-submit").disabled = false;
  output().replaceChildren();
  clearError(errorSlot());
  status().textContent = "";
}

export function initQuestion() {
  $("question-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input().value.trim();
    if (!question) {
      setFieldError(t("question_required"));
      input().focus();
      return;
    }
    setFieldError(null);
    translate(question);
  });
}
