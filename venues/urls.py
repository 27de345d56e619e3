from django.urls import path

from venues import views

urlpatterns = [
    path("market/", views.market, name="market"),
    path("market/<str:symbol>/", views.market, name="market_symbol"),
]
