from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "partners"

urlpatterns = [
    # Public: anyone, no account, no cookies.
    path("services/<uuid:uuid>/correction/", views.suggest_correction, name="suggest-correction"),
    path("services/<uuid:uuid>/correction/sent/", views.correction_sent, name="correction-sent"),
    path("list-your-organisation/", views.apply, name="apply"),
    path("list-your-organisation/sent/", views.applied, name="applied"),
    # Partners.
    path(
        "partners/login/",
        auth_views.LoginView.as_view(template_name="partners/login.html", next_page="partners:dashboard"),
        name="login",
    ),
    path("partners/logout/", auth_views.LogoutView.as_view(next_page="partners:login"), name="logout"),
    path("partners/invitation/<str:token>/", views.accept_invitation, name="accept-invitation"),
    path("partners/", views.dashboard, name="dashboard"),
    path("partners/messages/", views.message_list, name="messages"),
    path("partners/organizations/<uuid:uuid>/new-listing/", views.propose_new, name="propose-new"),
    path("partners/organizations/<uuid:uuid>/team/", views.team, name="team"),
    path("partners/listings/<uuid:uuid>/", views.listing, name="listing"),
    path("partners/listings/<uuid:uuid>/confirm/", views.confirm_listing, name="confirm"),
    path("partners/listings/<uuid:uuid>/propose-changes/", views.propose_change, name="propose-change"),
    path("partners/proposals/<uuid:uuid>/", views.proposal_detail, name="proposal"),
    path("partners/proposals/<uuid:uuid>/edit/", views.edit_proposal, name="edit-proposal"),
    path("partners/proposals/<uuid:uuid>/withdraw/", views.withdraw_proposal, name="withdraw-proposal"),
]
