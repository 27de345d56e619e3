from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.login import ThrottledLoginView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    # Any authenticated user may read the schema (SPECTACULAR_SETTINGS' SERVE_PERMISSIONS): it describes shapes, not data.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # A browser page: an anonymous visitor is sent to the login page and back, as on the blotter.
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/", include("oms.api.urls")),
    path("api/", include("ems.api_urls")),
    path("", include("venues.urls")),
    path("", include("ems.urls")),
]

handler404 = "oms.api.errors.not_found"
handler500 = "oms.api.errors.server_error"
