// Jira's key rule, the browser's copy of core/keys.py (tests/foundation/test_keys.py holds the two
// equal): a project key is a capital letter then capitals, digits or "_" (AB_C: Jira allows "_"),
// an issue key is a project key, "-" and a number from 1 (AB_C-12).
export const ISSUE_KEY_SOURCE = "[A-Z][A-Z0-9_]+-[1-9][0-9]*";

// A whole input that is one issue key; input is accepted in any case, so upper-case it first.
export const ISSUE_KEY = new RegExp(`^${ISSUE_KEY_SOURCE}$`);

// Issue keys cited in a text (upper case, as Jira writes them); global, for matchAll.
export const ISSUE_KEY_IN_TEXT = new RegExp(`\\b(${ISSUE_KEY_SOURCE})\\b`, "g");
