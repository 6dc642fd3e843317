"""Jira Cloud REST v3: the async client, typed models, ADF to text, caching, the /jira/* router.

Note for tests and benchmarks: this package shadows the PyPI ``jira`` library when run from the
repository root, so the maintained peer client used there is atlassian-python-api
(``from atlassian import Jira``).
"""
