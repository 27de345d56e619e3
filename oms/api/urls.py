from rest_framework.routers import DefaultRouter

from oms.api.views import (
    FillViewSet,
    InstrumentViewSet,
    KillSwitchViewSet,
    OrderViewSet,
    PortfolioViewSet,
    PositionViewSet,
    RiskLimitViewSet,
)

router = DefaultRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("fills", FillViewSet, basename="fill")
router.register("positions", PositionViewSet, basename="position")
router.register("portfolios", PortfolioViewSet, basename="portfolio")
router.register("instruments", InstrumentViewSet, basename="instrument")
router.register("risk-limits", RiskLimitViewSet, basename="risk-limit")
router.register("kill-switches", KillSwitchViewSet, basename="kill-switch")

urlpatterns = router.urls
