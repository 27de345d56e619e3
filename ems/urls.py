from django.urls import path

from ems import views

urlpatterns = [
    path("", views.blotter, name="blotter"),
    path("positions/", views.positions, name="positions"),
    path("risk/", views.risk, name="risk"),
    path("reports/", views.reports, name="reports"),
    path("orders/<int:pk>/tca/", views.order_tca, name="order-tca-page"),
]
