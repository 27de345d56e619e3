from rest_framework.routers import DefaultRouter

from oms.api.views import FillViewSet, OrderViewSet, PositionViewSet

router = DefaultRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("fills", FillViewSet, basename="fill")
router.register("positions", PositionViewSet, basename="position")

urlpatterns = router.urls
