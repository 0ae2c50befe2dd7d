from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Directory curation"
admin.site.site_title = "Directory curation"
admin.site.index_title = "Listings, vocabularies and reviews"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("resources.api.urls")),
    path("", include("resources.urls")),
]
