from django.urls import path

from ems import views

urlpatterns = [
    path("", views.blotter, name="blotter"),
    path("positions/", views.positions, name="positions"),
    path("risk/", views.risk, name="risk"),
]
