"""Pages of rescue teams (members, certificates, shifts), equipment and experts."""

from django.urls import path

from frontline.resources.views import equipment, experts, teams

urlpatterns = [
    path("teams/", teams.team_list, name="team_list"),
    path("teams/new/", teams.team_create, name="team_create"),
    path("teams/export/", teams.team_export, name="team_export"),
    path("teams/import/", teams.team_import, name="team_import"),
    path("teams/<id:pk>/", teams.team_detail, name="team_detail"),
    path("teams/<id:pk>/edit/", teams.team_edit, name="team_edit"),
    path("teams/<id:pk>/status/", teams.team_status, name="team_status"),
    path("teams/<id:pk>/members/new/", teams.member_add, name="team_member_add"),
    path("teams/<id:pk>/certificates/new/", teams.certificate_add, name="team_certificate_add"),
    path("teams/<id:pk>/roster/", teams.team_roster, name="team_roster"),
    path(
        "teams/members/<id:pk>/availability/",
        teams.member_availability,
        name="team_member_availability",
    ),
    path("teams/members/<id:pk>/remove/", teams.member_remove, name="team_member_remove"),
    path(
        "teams/certificates/<id:pk>/delete/",
        teams.certificate_remove,
        name="team_certificate_remove",
    ),
    path("teams/shifts/<id:pk>/delete/", teams.shift_delete, name="team_shift_delete"),
    path("equipment/", equipment.equipment_list, name="equipment_list"),
    path("equipment/new/", equipment.equipment_create, name="equipment_create"),
    path("equipment/export/", equipment.equipment_export, name="equipment_export"),
    path("equipment/import/", equipment.equipment_import, name="equipment_import"),
    path("equipment/<id:pk>/", equipment.equipment_detail, name="equipment_detail"),
    path("equipment/<id:pk>/edit/", equipment.equipment_edit, name="equipment_edit"),
    path("equipment/<id:pk>/status/", equipment.equipment_status, name="equipment_status"),
    path("equipment/<id:pk>/check/", equipment.equipment_check, name="equipment_check"),
    path("experts/", experts.expert_list, name="expert_list"),
    path("experts/new/", experts.expert_create, name="expert_create"),
    path("experts/export/", experts.expert_export, name="expert_export"),
    path("experts/import/", experts.expert_import, name="expert_import"),
    path("experts/<id:pk>/", experts.expert_detail, name="expert_detail"),
    path("experts/<id:pk>/edit/", experts.expert_edit, name="expert_edit"),
    path("experts/<id:pk>/availability/", experts.expert_availability, name="expert_availability"),
]
