from csp.decorators import csp_update
from django.urls import path, re_path
from django.views.generic import RedirectView
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularJSONAPIView

from . import views

app_name = "api"

# Paths as the HSDS API names them: no trailing slash (one leads to the same path without it).
urlpatterns = [
    path("", views.root, name="root"),
    path("services", views.services, name="services"),
    path("services/<str:id>", views.service, name="service"),
    path("organizations", views.organizations, name="organizations"),
    path("organizations/<str:id>", views.organization, name="organization"),
    path("service_at_locations", views.service_at_locations, name="service-at-locations"),
    path("service_at_locations/<str:id>", views.service_at_location, name="service-at-location"),
    path("taxonomies", views.taxonomies, name="taxonomies"),
    path("taxonomies/<str:id>", views.taxonomy, name="taxonomy"),
    path("taxonomy_terms", views.taxonomy_terms, name="taxonomy-terms"),
    path("taxonomy_terms/<str:id>", views.taxonomy_term, name="taxonomy-term"),
    path("profile/", views.profile_index, name="profile"),
    path("profile/schema/<str:name>", views.profile_schema, name="profile-schema"),
    path("profile/<str:name>", views.profile_modification, name="profile-modification"),
    # Plain application/json first; application/vnd.oai.openapi+json to those who ask for it.
    path(
        "openapi.json",
        SpectacularJSONAPIView.as_view(renderer_classes=[OpenApiJsonRenderer2, OpenApiJsonRenderer]),
        name="openapi",
    ),
    # Swagger UI draws its icons as data: images; only this page's policy allows them.
    path("docs/", csp_update({"img-src": ["data:"]})(views.DocsView.as_view(url_name="api:openapi")), name="docs"),
    path("docs", RedirectView.as_view(pattern_name="api:docs", permanent=True)),
    path("profile", RedirectView.as_view(pattern_name="api:profile", permanent=True)),
    re_path(r"^(?P<path>.+)/$", views.without_trailing_slash),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
