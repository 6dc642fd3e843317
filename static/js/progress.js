// The words of long work, from the streams' `log` events {step, message, done?, total?}: one
// vocabulary for the summary's progress bar and the analysis's steps. A step without the numbers
// its words need falls back on the server's own message (already in the page's language).
import { formatNumber, plural, t } from "./dom.js";

const counted = (log) => Number.isFinite(log.total) && log.total > 0;
const position = (message) => /(\d+)/.exec(String(message ?? ""))?.[1] ?? null;

/** The text of one `log` event, or `null` when neither our words nor the server's fit. */
export function stepText(log) {
  const numbers = { done: formatNumber(log.done ?? 0), total: formatNumber(log.total ?? 0) };
  switch (log.step) {
    case "count":
      return counted(log) ? plural("progress_count_total", log.total) : t("progress_count");
    case "fetch":
      if (counted(log)) return t("progress_fetch_of", numbers);
      return log.message || t("progress_fetch");
    case "map":
      return counted(log) ? t("progress_map_of", numbers) : t("progress_map");
    case "combine":
      return t("progress_combine");
    case "queue": {
      const at = position(log.message);
      return at ? t("progress_queue_at", { position: formatNumber(Number(at)) }) : t("progress_queue");
    }
    case "load":
      return t("progress_load");
    case "think":
      return t("progress_think");
    default:
      return log.message ? String(log.message) : null;
  }
}

/** How many chunks a resumed run found already summarized, as its map step says it: a `reused`
 * count when the event has one, else the number its message puts before "déjà faits" / "already
 * done" (the server's words, in the page's language). 0 when it says nothing of the kind. */
export function reusedChunks(log) {
  if (log.step !== "map") return 0;
  if (Number.isInteger(log.reused)) return log.reused;
  const match = /(\d+)\D{0,20}(?:déjà|already|reused|repris)/i.exec(String(log.message ?? ""));
  return match ? Number(match[1]) : 0;
}
