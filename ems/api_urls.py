from django.urls import path
from rest_framework.routers import DefaultRouter

from ems.api import (
    BestExecutionReport,
    DealerList,
    DealerReport,
    ExecutionViewSet,
    OrderChart,
    OrderTca,
    RfqViewSet,
    StrategyList,
    VenueReport,
    VenueViewSet,
)

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
    path("orders/<int:pk>/tca/", OrderTca.as_view(), name="order-tca"),
    path("reports/venues/", VenueReport.as_view(), name="report-venues"),
    path("reports/dealers/", DealerReport.as_view(), name="report-dealers"),
    path("reports/best-execution/", BestExecutionReport.as_view(), name="report-best-execution"),
]
