"""The web login with a brake on guessing: too many failures for one username, or from one address, lock it a while.

Counters live in Redis (shared by every web process) and expire on their
own: ``LOGIN_MAX_FAILURES`` failed attempts within ``LOGIN_WINDOW_SECONDS``
refuse further attempts, right or wrong, with a 429 until the window passes.
A success clears the username's counter.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse

from config.redis import redis_client


def _keys(request: HttpRequest) -> list[str]:
    username = str(request.POST.get("username", "")).strip().lower()[:150]
    address = request.META.get("REMOTE_ADDR", "")
    return [f"login:failures:user:{username}", f"login:failures:addr:{address}"]


class ThrottledLoginView(LoginView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        redis = redis_client()
        counts = [int(value or 0) for value in redis.mget(_keys(request))]
        if max(counts) >= settings.LOGIN_MAX_FAILURES:
            wait = max(redis.ttl(key) for key in _keys(request))
            form = self.get_form()
            form.errors.clear()
            context = self.get_context_data(form=form, locked=f"Too many failed logins: try again in {max(wait, 1)} s.")
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        pipe = redis_client().pipeline()
        for key in _keys(self.request):
            pipe.set(key, 0, ex=settings.LOGIN_WINDOW_SECONDS, nx=True)  # the window starts at the first failure
            pipe.incr(key)
        pipe.execute()
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        redis_client().delete(_keys(self.request)[0])
        return super().form_valid(form)
