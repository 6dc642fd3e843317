// The header: who is signed in, and the site picker (PUT /me/site, then the data is reloaded).
import { getJSON, sendJSON } from "./api.js";
import { el, t } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { state } from "./state.js";

const $ = (id) => document.getElementById(id);

function initials(name) {
  return String(name ?? "")
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0].toUpperCase())
    .join("");
}

function applyMe(me) {
  state.me = me;
  state.site = (me.sites ?? []).find((site) => site.cloud_id === me.current_cloud_id) ?? null;
  $("user-name").textContent = me.display_name ?? "";
  $("user-initials").textContent = initials(me.display_name);
  const avatar = $("user-avatar");
  if (me.avatar_url) {
    avatar.addEventListener("load", () => {
      avatar.hidden = false;
      $("user-initials").hidden = true;
    }, { once: true });
    avatar.src = me.avatar_url;
  }
  const picker = $("site-picker");
  picker.replaceChildren(
    ...(me.sites ?? []).map((site) =>
      el("option", { value: site.cloud_id, selected: site.cloud_id === me.current_cloud_id }, site.needs_reauth ? t("needs_reauth", { site: site.name }) : site.name),
    ),
  );
  $("site-form").hidden = !(me.sites ?? []).length;
  // A site that needs a new consent (its grant died, or Jira refused its token a scope) says so
  // at once, with the button, rather than at the first request that fails.
  if (state.site?.needs_reauth) showError($("global-error"), { code: "atlassian_reauth_required" });
  else clearError($("global-error"));
}

export async function loadMe() {
  try {
    applyMe(await getJSON("/me"));
    return true;
  } catch (error) {
    $("user-name").textContent = "";
    $("site-status").textContent = showError($("global-error"), error);
    return false;
  }
}

export function initHeader(onSiteChanged) {
  $("site-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const cloudId = $("site-picker").value;
    clearError($("global-error"));
    try {
      applyMe(await sendJSON("PUT", "/me/site", { cloud_id: cloudId }));
      $("site-status").textContent = t("site_changed", { site: state.site?.name ?? "" });
      onSiteChanged();
    } catch (error) {
      $("site-status").textContent = showError($("global-error"), error);
    }
  });
}
