from django.urls import path
from rest_framework.routers import DefaultRouter

from ems.api import DealerList, ExecutionViewSet, OrderChart, RfqViewSet, StrategyList, VenueViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("rfqs", RfqViewSet, basename="rfq")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("venues", VenueViewSet, basename="venue")

urlpatterns = [
    *router.urls,
    path("dealers/", DealerList.as_view(), name="dealers"),
    path("strategies/", StrategyList.as_view(), name="strategies"),
    path("orders/<int:pk>/chart/", OrderChart.as_view(), name="order-chart"),
]
