// Entry point of the workspace (/ui). An ES module loaded from 'self': no inline script anywhere.
import { initAnalysis, resetAnalysis } from "./analysis.js";
import { initHeader, loadMe } from "./header.js";
import { initProjects, loadProjects } from "./projects.js";
import { initNotes, loadNotesProjects, resetNotes } from "./release_notes.js";
import { initQuestion, resetQuestion } from "./question.js";
import { initReports, loadBoards, resetReports } from "./reports.js";
import { initSummary, resetSummary } from "./summary.js";

async function start() {
  initSummary();
  initQuestion();
  initAnalysis();
  initProjects();
  initReports();
  initNotes();
  initHeader(() => {
    resetSummary();
    resetQuestion();
    resetAnalysis();
    resetReports();
    resetNotes();
    loadProjects();
    loadBoards();
    loadNotesProjects();
  });
  if (await loadMe()) await Promise.all([loadProjects(), loadBoards(), loadNotesProjects()]);
}

start();
