// Entry point of the workspace (/ui). An ES module loaded from 'self': no inline script anywhere.
import { initAnalysis, resetAnalysis } from "./analysis.js";
import { initHeader, loadMe } from "./header.js";
import { initProjects, loadProjects } from "./projects.js";
import { initReports, loadBoards, resetReports } from "./reports.js";
import { initSummary, resetSummary } from "./summary.js";

async function start() {
  initSummary();
  initAnalysis();
  initProjects();
  initReports();
  initHeader(() => {
    resetSummary();
    resetAnalysis();
    resetReports();
    loadProjects();
    loadBoards();
  });
  if (await loadMe()) await Promise.all([loadProjects(), loadBoards()]);
}

start();
