// Errors in words, with what to do, from the API's stable `code` (the registry in core/errors.py).
import { csrfToken } from "./api.js";
import { el, t } from "./dom.js";
import { state } from "./state.js";

const SIGN_IN = { href: "/login", label: "err_session_action" };

// Re-consent is a new sign-in: a form POST to /login (CSRF-checked, as on the sign-in page; a
// link would only GET the sign-in page, which sends a signed-in user back here). It names the
// site, so that the new session starts on it, and comes back to this page.
function consentForm() {
  const token = el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrfToken() });
  const form = el(
    "form",
    { method: "post", action: "/login", className: "consent-form" },
    token,
    el("input", { type: "hidden", name: "next", value: window.location.pathname }),
    state.site ? el("input", { type: "hidden", name: "cloud_id", value: state.site.cloud_id }) : null,
    el("button", { type: "submit", className: "button button-primary", text: t("err_reauth_action") }),
  );
  form.addEventListener("submit", () => {
    token.value = csrfToken();
  });
  return form;
}

// A service that says when to come back (Retry-After, or an error event's retry_after) is quoted.
const unavailableTodo = (error) => (error.retryAfter ? t("err_unavailable_do_in", { seconds: error.retryAfter }) : t("err_unavailable_do"));

function describe(error) {
  const code = error.code ?? "internal_error";
  switch (code) {
    case "not_authenticated":
    case "session_expired":
      return { message: t("err_session"), todo: t("err_session_do"), link: SIGN_IN };
    case "atlassian_reauth_required":
      return {
        message: state.site ? t("err_reauth_site", { site: state.site.name }) : t("err_reauth"),
        todo: t("err_reauth_do"),
        action: consentForm(),
      };
    case "site_forbidden":
      return { message: t("err_site"), todo: t("err_site_do") };
    case "issue_not_found":
      return { message: t("err_not_found"), todo: t("err_not_found_do") };
    case "board_not_found":
      return { message: t("err_board_not_found"), todo: t("err_board_not_found_do") };
    case "sprint_not_found":
      return { message: t("err_sprint_not_found"), todo: t("err_board_not_found_do") };
    case "project_not_found":
      return { message: t("err_project_not_found"), todo: t("err_project_not_found_do") };
    case "version_not_found":
      return { message: t("err_version_not_found"), todo: t("err_project_not_found_do") };
    case "invalid_jql":
      return { message: t("err_invalid_jql"), todo: t("err_invalid_jql_do"), detail: error.detail };
    case "invalid_input":
    case "question_not_understood":
      // The API's own validation text is English whatever the page's language: said so (lang).
      return { message: t("err_invalid"), todo: t("err_invalid_do"), detail: error.detail, detailLang: "en" };
    case "rate_limited":
    case "jira_rate_limited":
    case "llm_rate_limited": {
      const seconds = error.retryAfter;
      return {
        message: t("err_rate"),
        todo: seconds ? t("err_rate_do", { seconds }) : t("err_rate_do_unknown"),
      };
    }
    case "jira_unavailable":
    case "jira_timeout":
      return { message: t("err_jira"), todo: unavailableTodo(error) };
    case "llm_invalid_output":
      return { message: t("err_llm_output"), todo: t("err_llm_output_do") };
    case "llm_unavailable":
    case "llm_timeout":
    case "ai_service_unavailable":
    case "invalid_service_token":
      return { message: t("err_llm"), todo: unavailableTodo(error) };
    case "too_many_streams":
      return { message: t("err_streams"), todo: t("err_streams_do") };
    case "csrf_failed":
      return { message: t("err_csrf"), todo: t("err_csrf_do") };
    case "body_too_large":
      return { message: t("err_too_large"), todo: t("err_too_large_do") };
    case "network_error":
      return { message: t("err_network"), todo: t("err_network_do") };
    default:
      return { message: t("err_internal"), todo: t("err_internal_do") };
  }
}

/** Shows `error` in `slot` (text only) and returns the one-line message for a live region. */
export function showError(slot, error) {
  const { message, todo, link, action, detail, detailLang } = describe(error);
  const box = el(
    "div",
    { className: "error-box", "data-code": error.code ?? "internal_error" },
    el("p", { className: "error-message" }, el("strong", { text: t("error_title") }), " ", message),
    detail ? el("p", { className: "error-detail", lang: detailLang, text: detail }) : null,
    el("p", { className: "error-todo", text: todo }),
    link ? el("p", {}, el("a", { href: link.href, className: "button button-primary", text: t(link.label) })) : null,
    action ?? null,
  );
  slot.replaceChildren(box);
  return t("err_announce", { message: `${message} ${todo}` });
}

export function clearError(slot) {
  slot.replaceChildren();
}
