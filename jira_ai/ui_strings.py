"""Strings the workspace's JavaScript shows, translated on the server and handed to the page as a
JSON data block (``json_script``): one catalogue (locale/*.po) for templates and scripts, and no
extra request or inline script (the CSP is ``script-src 'self'``). Placeholders are ``{name}``.

A string with a count comes as ``<key>_one`` and ``<key>_other`` (``ngettext`` for 1 and for 2),
which the page picks with ``Intl.PluralRules``: the two categories French and English have."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def ui_strings() -> dict[str, str]:
    return {
        # header
        "site_changed": _("Site Jira actif : {site}."),
        "no_sites": _("Aucun site Jira accessible avec ce compte."),
        "needs_reauth": _("{site} (autorisation à renouveler)"),
        # projects
        "projects_loading": _("Chargement des projets…"),
        **_one_other(
            "projects_loaded",
            lambda n: ngettext("{count} projet chargé.", "{count} projets chargés.", n),
        ),
        "projects_empty": _("Aucun projet visible sur ce site."),
        "project_loading": _("Chargement du projet {name}…"),
        "project_loaded": _("Projet {name} chargé."),
        "open_by_status": _("Tickets ouverts par statut"),
        **_one_other(
            "open_total",
            lambda n: ngettext("{count} ticket ouvert", "{count} tickets ouverts", n),
        ),
        "recently_updated": _("Mis à jour récemment"),
        "summarize_project": _("Résumer ce projet"),
        "status": _("Statut"),
        "count": _("Nombre"),
        "share": _("Part"),
        "issue": _("Ticket"),
        "updated": _("Mis à jour"),
        "no_issues": _("Aucun ticket."),
        # summary
        "summary_running": _("Résumé en cours…"),
        "summary_done": _("Résumé prêt."),
        "summary_title": _("Résumé de la requête"),
        "coverage": _("Analyse de {analyzed} tickets sur {total}"),
        "coverage_truncated": _(
            "Seuls les {analyzed} premiers tickets ont été analysés : affinez la requête pour "
            "couvrir le reste."
        ),
        "cached": _("Résultat en cache du {date}."),
        "fresh": _("Généré le {date}."),
        "model": _("Modèle : {provider} / {model}"),
        "narrative": _("Synthèse"),
        "highlights": _("Points saillants"),
        "risks": _("Risques"),
        "blockers": _("Blocages"),
        "next_steps": _("Prochaines étapes"),
        "stats": _("Statistiques"),
        "by_status": _("Par statut"),
        "by_priority": _("Par priorité"),
        "by_assignee": _("Par responsable"),
        "by_type": _("Par type"),
        "value": _("Valeur"),
        # the engine's "(none)" (a missing value in the stats), per field
        "none_status": _("(aucun)"),
        "none_priority": _("(aucune)"),
        "none_assignee": _("Non assigné"),
        "none_type": _("(aucun)"),
        "none": _("Aucun."),
        "regenerate": _("Régénérer"),
        "jql_required": _("Saisissez une requête JQL."),
        # a question turned into JQL
        "question_required": _("Saisissez une question."),
        "question_running": _("Traduction de la question en JQL…"),
        "question_done": _(
            "Requête JQL proposée et vérifiée par Jira : {count}. Rien n'est lancé : relisez-la, "
            "puis « Résumer »."
        ),
        "question_title": _("Requête proposée"),
        "question_explanation": _("Explication"),
        "question_repaired": _("Corrigée après le contrôle de Jira."),
        "question_warnings": _("Remarques de Jira"),
        **_one_other(
            "question_count",
            lambda n: ngettext("≈ {count} ticket", "≈ {count} tickets", n),
        ),
        "question_count_unknown": _("nombre de tickets inconnu"),
        "summary_stopped": _("Résumé arrêté."),
        "summary_cut": _(
            "La connexion a été interrompue avant la fin du résumé. Relancez-le : les morceaux "
            "déjà faits seront repris."
        ),
        "narrative_provisional": _("Synthèse (en cours d'écriture)"),
        # progress of long work (the streams' log steps), shared by the summary and the analysis
        "progress_start": _("Démarrage…"),
        "progress_count": _("Comptage des tickets…"),
        **_one_other(
            "progress_count_total",
            lambda n: ngettext(
                "{count} ticket correspond à la requête",
                "{count} tickets correspondent à la requête",
                n,
            ),
        ),
        "progress_fetch": _("Lecture de Jira…"),
        "progress_fetch_of": _("Lecture de Jira : {done} tickets sur {total}"),
        "progress_map": _("Résumé des morceaux…"),
        "progress_map_of": _("Résumé des morceaux : {done} sur {total}"),
        "progress_combine": _("Synthèse finale"),
        "progress_queue": _("En attente du modèle"),
        "progress_queue_at": _("En attente du modèle (position {position})"),
        "progress_load": _("Chargement du modèle"),
        "progress_think": _("Le modèle réfléchit"),
        "progress_writing": _("Rédaction de la synthèse"),
        "progress_reconnecting": _("Connexion perdue : reprise du résumé…"),
        **_one_other(
            "progress_reused",
            lambda n: ngettext(
                "Reprise : {count} morceau déjà fait", "Reprise : {count} morceaux déjà faits", n
            ),
        ),
        "open_in_jira": _("{key} (ouvrir dans Jira)"),
        # analysis
        "key_required": _("Saisissez une clé de ticket, par exemple PAY-12."),
        "key_invalid": _("« {key} » n'est pas une clé de ticket : elle ressemble à PAY-12."),
        "analysis_running": _("Analyse de {key} en cours…"),
        "analysis_done": _("Analyse de {key} terminée."),
        "stream_started": _("Analyse en direct de {key} démarrée."),
        "stream_done": _("Analyse en direct de {key} terminée."),
        "stream_stopped": _("Analyse en direct arrêtée."),
        "stream_cut": _("La connexion a été interrompue avant la fin de l'analyse. Relancez-la."),
        "analysis_title": _("Analyse de {key}"),
        "status_assessment": _("État d'avancement"),
        "acceptance_criteria": _("Critères d'acceptation"),
        "criteria_present": _("Critères présents dans le ticket."),
        "criteria_absent": _("Aucun critère d'acceptation dans le ticket."),
        "gaps": _("Manques"),
        "next_actions": _("Prochaines actions"),
        "open_questions": _("Questions ouvertes"),
        "comments_coverage": _("{analyzed} commentaires analysés sur {total}"),
        "duration": _("Durée : {seconds} s"),
        "section_synthesis": _("Synthèse"),
        "section_summary": _("Synthèse"),
        "section_risks": _("Risques et blocages"),
        "section_risks_blockers": _("Risques et blocages"),
        "section_acceptance_criteria": _("Critères d'acceptation"),
        "section_next_actions": _("Prochaines actions"),
        "step_done": _("terminé"),
        "step_running": _("en cours"),
        # reports (Rapports): sprint and epic reports
        "boards_loading": _("Chargement des tableaux…"),
        "boards_empty": _("Aucun tableau Jira Software sur ce site."),
        **_one_other(
            "boards_loaded",
            lambda n: ngettext("{count} tableau chargé.", "{count} tableaux chargés.", n),
        ),
        "board_option": _("{name} ({type})"),
        "board_scrum": _("scrum"),
        "board_kanban": _("kanban"),
        "board_kanban_empty": _(
            "Le tableau {name} est un tableau kanban : il n'a pas de sprint. Choisissez un "
            "tableau scrum, ou faites le rapport d'une épopée."
        ),
        "sprints_loading": _("Chargement des sprints…"),
        "sprints_empty": _(
            "Aucun sprint en cours ou terminé sur ce tableau : un sprint à venir n'a pas encore "
            "de chiffres."
        ),
        "sprint_active": _("{name} (en cours)"),
        "sprint_closed": _("{name} (terminé le {date})"),
        "epic_key_required": _("Saisissez la clé d'une épopée, par exemple PAY-10."),
        "epic_not_found": _("Aucun ticket {key} sur ce site, ou vous n'y avez pas accès."),
        "epic_not_found_do": _("Vérifiez la clé de l'épopée et le site Jira choisi."),
        "report_running": _("Rapport en cours…"),
        "report_done": _("Rapport prêt."),
        "report_stopped": _("Rapport arrêté."),
        "report_cut": _("La connexion a été interrompue avant la fin du rapport. Relancez-le."),
        "report_writing": _("Rédaction du récit"),
        "report_provisional": _("Récit (en cours d'écriture)"),
        "sprint_report_title": _("Rapport du sprint {name}"),
        "epic_report_title": _("Rapport de l'épopée {key} : {summary}"),
        "report_board": _("Tableau : {name}"),
        "report_dates": _("Du {start} au {end}"),
        "report_goal": _("Objectif : {goal}"),
        "report_audience_team": _("Pour l'équipe"),
        "report_audience_stakeholders": _("Pour les parties prenantes"),
        "report_facts": _("Les chiffres (calculés depuis Jira)"),
        "report_narrative": _("Récit"),
        "went_well": _("Ce qui a bien marché"),
        "slipped": _("Ce qui a glissé"),
        "report_copy": _("Copier en Markdown"),
        "report_copied": _("Rapport copié dans le presse-papiers en Markdown."),
        "report_copy_failed": _(
            "Le presse-papiers est inaccessible : le Markdown est affiché ci-dessous, "
            "sélectionnez-le pour le copier."
        ),
        "report_markdown": _("Le rapport en Markdown"),
        # release notes
        "notes_projects_loading": _("Chargement des projets…"),
        "notes_projects_empty": _("Aucun projet visible sur ce site."),
        "notes_versions_loading": _("Chargement des versions…"),
        "notes_versions_empty": _("Ce projet n'a aucune version."),
        "notes_version_released": _("{name} (livrée le {date})"),
        "notes_version_unreleased": _("{name} (à venir)"),
        "notes_version_archived": _("{name} (archivée)"),
        "notes_running": _("Notes de version en cours…"),
        "notes_done": _("Notes de version prêtes."),
        "notes_cut": _(
            "La connexion a été interrompue avant la fin des notes de version. Relancez-les."
        ),
        "notes_title": _("Notes de version : {project} {version}"),
        "notes_released_on": _("Livrée le {date}"),
        "notes_unreleased": _("Version à venir"),
        "notes_audience_users": _("Pour les utilisateurs"),
        "notes_audience_team": _("Pour l'équipe"),
        **_one_other(
            "notes_coverage",
            lambda n: ngettext(
                "{count} ticket, {in_notes} dans les notes, {omitted} écartés",
                "{count} tickets, {in_notes} dans les notes, {omitted} écartés",
                n,
            ),
        ),
        "notes_empty": _("Aucun ticket dans cette version : rien à annoncer."),
        "notes_omitted": _("Tickets écartés des notes"),
        "omit_internal": _("interne"),
        "omit_no_user_impact": _("sans effet pour les utilisateurs"),
        "omit_not_done": _("pas terminé"),
        "notes_copied": _("Notes de version copiées dans le presse-papiers en Markdown."),
        "notes_markdown": _("Les notes de version en Markdown"),
        "facts_table": _("Tickets et points du sprint, par ensemble"),
        "facts_set": _("Ensemble"),
        "facts_issues": _("Tickets"),
        "facts_points": _("Points"),
        "facts_keys": _("Clés"),
        "set_committed": _("Engagé au démarrage"),
        "set_added": _("Ajouté en cours de sprint"),
        "set_removed": _("Retiré en cours de sprint"),
        "set_completed": _("Terminé"),
        "set_not_completed": _("Non terminé"),
        "set_carried_over": _("Reporté au sprint suivant"),
        "chart_committed_completed": _("Points engagés et terminés"),
        "chart_scope": _("Changement de périmètre : {percent} des points engagés"),
        "chart_velocity": _("Vélocité des derniers sprints (points)"),
        "velocity_sprint": _("Sprint"),
        "velocity_committed": _("Engagés"),
        "velocity_completed": _("Terminés"),
        "bar_points": _("{label} : {points} points"),
        "estimate_changes": _("Estimations changées pendant le sprint"),
        "estimate_change": _("{key} : {before} → {after} points"),
        "no_estimate": _("sans estimation"),
        "report_blockers": _("Tickets bloqués"),
        "blocker_flagged": _("signalé"),
        "blocker_blocked_by": _("bloqué par"),
        "blocker_blocked_status": _("au statut bloqué"),
        "group_name": _("Nom"),
        "group_completed_issues": _("Tickets terminés"),
        "group_completed_points": _("Points terminés"),
        "by_assignee_completion": _("Avancement par responsable"),
        "by_type_completion": _("Avancement par type"),
        "epic_progress": _("Avancement"),
        "epic_children": _("Enfants par statut"),
        "epic_done_points": _("Points terminés : {percent}"),
        "epic_done_issues": _("Tickets terminés : {percent}"),
        "epic_expected": _("Temps écoulé jusqu'à l'échéance : {percent}"),
        "epic_no_estimate": _("Aucun enfant estimé : pas de pourcentage en points."),
        "epic_due": _("Échéance : {date}"),
        "epic_no_due": _("Pas d'échéance"),
        "due_no_due_date": _("sans échéance"),
        "due_done": _("terminée"),
        "due_on_track": _("dans les temps"),
        "due_at_risk": _("en risque"),
        "due_overdue": _("en retard"),
        "epic_unestimated": _("Enfants sans estimation"),
        "epic_stale": _("Enfants sans mise à jour depuis {days} jours"),
        "epic_projects": _("Projets : {projects}"),
        "status_category": _("Catégorie"),
        **_one_other(
            "epic_children_total",
            lambda n: ngettext("{count} enfant", "{count} enfants", n),
        ),
        "err_board_not_found": _("Ce tableau est introuvable ou vous n'y avez pas accès."),
        "err_sprint_not_found": _("Ce sprint est introuvable sur ce tableau."),
        "err_board_not_found_do": _("Choisissez un autre tableau dans la liste."),
        "err_project_not_found": _("Ce projet est introuvable ou vous n'y avez pas accès."),
        "err_version_not_found": _("Ce projet n'a pas de version de ce nom."),
        "err_project_not_found_do": _(
            "Choisissez un projet et une de ses versions dans la liste, ou rechargez la page."
        ),
        # quality: what the engine's guardrails did to the answer
        "quality_clean": _("Réponse vérifiée"),
        "quality_title": _("Contrôles de la réponse :"),
        **_one_other(
            "quality_citations",
            lambda n: ngettext(
                "{count} référence à un ticket inconnu retirée",
                "{count} références à des tickets inconnus retirées",
                n,
            ),
        ),
        **_one_other(
            "quality_numbers",
            lambda n: ngettext(
                "{count} chiffre corrigé d'après les données",
                "{count} chiffres corrigés d'après les données",
                n,
            ),
        ),
        "quality_narrative_from_facts": _("Texte de synthèse reconstruit à partir des données"),
        "quality_language": _("Réponse pas entièrement dans la langue demandée"),
        "quality_repaired": _("Réponse corrigée par une seconde demande au modèle"),
        "quality_injection": _("Instructions suspectes trouvées dans les tickets : ignorées"),
        # errors
        "error_title": _("Erreur :"),
        "err_session": _("Votre session a expiré ou vous n'êtes pas connecté."),
        "err_session_do": _("Reconnectez-vous pour continuer."),
        "err_session_action": _("Se reconnecter"),
        "err_reauth": _("Atlassian demande de renouveler votre autorisation pour ce site."),
        "err_reauth_site": _(
            "Votre autorisation Atlassian pour le site {site} est à renouveler : elle a expiré, "
            "a été retirée ou ne couvre pas encore les tableaux et les sprints (Jira Software)."
        ),
        "err_reauth_do": _("Donnez à nouveau votre accord sur la page d'Atlassian."),
        "err_reauth_action": _("Autoriser à nouveau"),
        "err_site": _("Ce site Jira n'est pas accessible avec votre compte."),
        "err_site_do": _("Choisissez un autre site dans la liste en haut de la page."),
        "err_not_found": _("Ce ticket est introuvable ou vous n'y avez pas accès."),
        "err_not_found_do": _("Vérifiez la clé et le site Jira choisi."),
        "err_invalid": _("La demande n'est pas valide."),
        "err_invalid_do": _("Corrigez la saisie puis réessayez."),
        "err_invalid_jql": _("La requête JQL est refusée par Jira."),
        "err_invalid_jql_do": _("Corrigez la requête puis réessayez."),
        "err_rate": _("Quota atteint."),
        "err_rate_do": _("Patientez {seconds} s puis réessayez."),
        "err_rate_do_unknown": _("Patientez un instant puis réessayez."),
        "err_jira": _("Jira est indisponible pour le moment."),
        "err_llm": _("Le service d'IA est indisponible pour le moment."),
        "err_unavailable_do": _("Réessayez dans quelques minutes."),
        "err_unavailable_do_in": _("Réessayez dans {seconds} s."),
        "err_llm_output": _("Le service d'IA a produit une réponse inutilisable."),
        "err_llm_output_do": _(
            "Réessayez : une nouvelle génération donne souvent un bon résultat."
        ),
        "err_streams": _("Trop d'analyses en direct sont en cours."),
        "err_streams_do": _("Réessayez dans un instant, ou utilisez « Analyser »."),
        "err_csrf": _("La page a expiré."),
        "err_csrf_do": _("Rechargez la page puis réessayez."),
        "err_too_large": _("La demande est trop volumineuse."),
        "err_too_large_do": _("Raccourcissez la saisie puis réessayez."),
        "err_network": _("Le serveur ne répond pas."),
        "err_network_do": _("Vérifiez votre connexion puis réessayez."),
        "err_internal": _("Une erreur inattendue s'est produite."),
        "err_internal_do": _("Réessayez ; si l'erreur persiste, contactez l'équipe jira-ai."),
        "err_announce": _("Erreur : {message}"),
    }


def _one_other(key: str, translate: Callable[[int], str]) -> dict[str, str]:
    # A literal ngettext() call per string, where makemessages can find it.
    return {f"{key}_one": translate(1), f"{key}_other": translate(2)}
