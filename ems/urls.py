from django.urls import path

from ems import views

urlpatterns = [path("", views.blotter, name="blotter")]
