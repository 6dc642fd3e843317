"""A hand-made vocabulary resembling the sandbox's Jira site (projects PAY, MOB, AB_C; English and
French statuses; the five priorities; the Story point estimate and Sprint custom fields)."""

from __future__ import annotations

from ai_service.contract.questions import FieldName, JqlQuestionRequest, NamedKey, Vocabulary

VOCABULARY = Vocabulary(
    projects=[
        NamedKey(key="PAY", name="Paiements"),
        NamedKey(key="MOB", name="Mobile App"),
        NamedKey(key="AB_C", name="Analytics Core"),
    ],
    issue_types=["Epic", "Story", "Task", "Bug"],
    statuses=[
        "To Do",
        "In Progress",
        "In Review",
        "Done",
        "À faire",
        "En cours",
        "En revue",
        "Terminé",
    ],
    priorities=["Highest", "High", "Medium", "Low", "Lowest"],
    fields=[
        FieldName(id="assignee", name="Assignee", jql="assignee"),
        FieldName(id="status", name="Status", jql="status"),
        FieldName(id="labels", name="Labels", jql="labels"),
        FieldName(id="customfield_10016", name="Story point estimate", jql="cf[10016]"),
        FieldName(id="customfield_10020", name="Sprint", jql="sprint"),
    ],
    sprints=["PAY Sprint 1", "PAY Sprint 2", "MOB Sprint 7"],
    me="Alice Martin",
)


def question(text: str, language: str | None = None, **fields: object) -> JqlQuestionRequest:
    return JqlQuestionRequest.model_validate(
        {"question": text, "vocabulary": VOCABULARY, "language": language, **fields}
    )
