// What the page knows of the signed-in user; the current site's URL builds the links to Jira.
export const state = {
  me: null,
  site: null,
};

export function browseUrl(key) {
  return state.site?.url ? `${state.site.url.replace(/\/$/, "")}/browse/${encodeURIComponent(key)}` : null;
}
