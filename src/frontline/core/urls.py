from django.urls import path

from frontline.core.views import account, inbox, organizations, pages, people, regions, tokens

urlpatterns = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/read-all/", inbox.inbox_read_all, name="inbox_read_all"),
    path("inbox/<id:pk>/open/", inbox.inbox_open, name="inbox_open"),
    path("", pages.home, name="home"),
    path("favicon.ico", account.FaviconView.as_view(), name="favicon"),
    path("focus/", pages.set_focus, name="set_focus"),
    # Accounts
    path("login/", account.LoginView.as_view(), name="login"),
    path("logout/", account.LogoutView.as_view(), name="logout"),
    path("password/", account.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/",
        account.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Jurisdiction tree
    path("regions/", regions.region_index, name="region_index"),
    path("regions/<str:code>/", regions.region_detail, name="region_detail"),
    # Organizations
    path("organizations/", organizations.organization_list, name="organization_list"),
    path("organizations/new/", organizations.organization_create, name="organization_create"),
    path("organizations/<id:pk>/", organizations.organization_detail, name="organization_detail"),
    path("organizations/<id:pk>/edit/", organizations.organization_edit, name="organization_edit"),
    # People
    path("people/", people.person_list, name="person_list"),
    path("people/new/", people.person_create, name="person_create"),
    path("people/<id:pk>/", people.person_detail, name="person_detail"),
    path("people/<id:pk>/edit/", people.person_edit, name="person_edit"),
    path("people/<id:pk>/reveal/<str:field>/", people.person_reveal, name="person_reveal"),
    # API tokens
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<id:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
]
