from django.urls import path

from . import safety, shortlist, views

app_name = "resources"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("hotlines/", views.hotlines, name="hotlines"),
    path("safety/", safety.safety, name="safety"),
    path("shortlist/", shortlist.shortlist, name="shortlist"),
    path("shortlist/sheet/", shortlist.sheet, name="shortlist-sheet"),
    path("services/<uuid:uuid>/", views.service_detail, name="service"),
    path("organizations/<uuid:uuid>/", views.organization_detail, name="organization"),
]
