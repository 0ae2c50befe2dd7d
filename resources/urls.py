from django.urls import path

from . import views

app_name = "resources"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("hotlines/", views.hotlines, name="hotlines"),
    path("services/<uuid:uuid>/", views.service_detail, name="service"),
    path("organizations/<uuid:uuid>/", views.organization_detail, name="organization"),
]
