from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("oms.api.urls")),
    path("api/", include("ems.api_urls")),
    path("", include("venues.urls")),
    path("", include("ems.urls")),
]
