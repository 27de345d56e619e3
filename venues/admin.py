from django.contrib import admin

from venues.models import Venue


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "maker_fee", "taker_fee", "latency_ms", "depth_scale", "active"]
    list_filter = ["kind", "active"]
    list_editable = ["active"]
    search_fields = ["code", "name"]
