// Entry point of the workspace (/ui). An ES module loaded from 'self': no inline script anywhere.
import { initAnalysis, resetAnalysis } from "./analysis.js";
import { initHeader, loadMe } from "./header.js";
import { initProjects, loadProjects } from "./projects.js";
import { initSummary, resetSummary } from "./summary.js";

async function start() {
  initSummary();
  initAnalysis();
  initProjects();
  initHeader(() => {
    resetSummary();
    resetAnalysis();
    loadProjects();
  });
  if (await loadMe()) await loadProjects();
}

start();
