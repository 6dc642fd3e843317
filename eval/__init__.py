"""The scorecard (``make eval``, issue #14): fixed cases over the sandbox's Jira, run through the
real public API and ai-service against one or more models, scored on what the user sees.

``cases`` the case list; ``facts`` what Jira says about each case (read over its REST API at run
time); ``scoring`` the scores, pure functions of the answer's texts and the facts (written here,
never borrowed from the engine's guardrails, so that a failing guard shows); ``runner`` the
processes and the requests; ``report`` the table, the thresholds and the results file.
"""
