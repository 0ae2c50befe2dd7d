from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Directory curation"
admin.site.site_title = "Directory curation"
admin.site.index_title = "Listings, vocabularies and reviews"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("resources.api.urls")),
]
# The public and partner pages in each language: English at /, Spanish under /es/, French under /fr/. The
# language comes from the URL alone (LocaleMiddleware with an unprefixed default never looks at a cookie or
# the browser's Accept-Language for these), and the admin and the API stay in English at their own paths.
urlpatterns += i18n_patterns(
    path("", include("partners.urls")),
    path("", include("resources.urls")),
    prefix_default_language=False,
)

# The 500 page carries the quick exit like every other public page.
handler500 = "resources.safety.server_error"
